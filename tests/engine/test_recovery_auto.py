"""Recovery training that sizes itself (finetune.epochs auto): the user names no epochs; training stops on its
own, keeps the best epoch, and says why; where it cannot recover the model it says so and suggests less."""

from __future__ import annotations

import numpy as np

from tests.engine.conftest import write_npz
from tests.engine.pruning import prune, run

COMMON = {"split": {"max_eval_samples": 400}}


def test_a_prune_with_no_epochs_recovers_within_the_limit_and_says_why_it_stopped(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    passes = [prune(method="structured", sparsity=0.5, finetune={"distill": True, "max_epochs": 25})]
    result = run(model, dataset, tmp_path / "auto", passes=passes, **COMMON)
    report = result.report
    trained = report["passes"][0]["finetune"]
    assert trained["epochs"] == "auto" and trained["schedule"] == "plateau"
    assert trained["stop"] in {"limit_held", "plateau", "max_epochs"}, trained["stop_reason"]
    assert 1 <= trained["best_epoch"] <= trained["epochs_run"] <= 25
    assert len(trained["curve"]) == trained["epochs_run"]
    assert all(row["validation_metric"] is not None for row in trained["curve"])
    # the validation part comes out of the calibration split, never the evaluation split
    assert trained["train_samples"] + trained["validation_samples"] == report["split"]["calibration_samples"]
    drop = report["baseline"]["accuracy"]["top1"] - report["optimized"]["accuracy"]["top1"]
    assert drop <= 0.01, drop
    html = result.artifacts["report.html"].read_text()
    assert "recovery training" in html and trained["stop_reason"] in html.replace("&#x27;", "'")
    assert any(name.startswith("training-1-finetune") for name in result.artifacts), list(result.artifacts)


def test_too_little_data_for_the_capacity_removed_stops_early_and_suggests_a_lower_sparsity(tmp_path, digits_model):
    _, _, x, y = digits_model
    model = digits_model[0]
    few = write_npz(tmp_path / "few.npz", x=x[:240], labels=y[:240])  # ~120 to train on, 90 % of channels gone
    passes = [prune(method="structured", sparsity=0.9, exclude_first_last=False, finetune={"distill": True})]
    result = run(model, few, tmp_path / "short", passes=passes, **COMMON)
    trained = result.report["passes"][0]["finetune"]
    assert trained["stop"] == "cannot_hold", trained["stop_reason"]
    assert trained["epochs_run"] < 60 and trained["best_epoch"] <= trained["epochs_run"] - 5
    assert not result.report["goal_met"]
    advice = [w for w in result.report["warnings"] if "recovery training stopped early" in w]
    assert advice and "lower sparsity" in advice[0], result.report["warnings"]
    assert np.isfinite(trained["curve"][-1]["train_loss"])
