"""The verdict on real-shaped models built here: a streaming detector with state, two heads, every input kind."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.schemas.recipe import Recipe
from app.core.schemas.report import Report
from tests.engine import stateful_models as models
from tests.engine.conftest import write_npz
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import optimize
from worker.engine.compare import compare

BUDGET_S = float(TEST_LATENCY_BUDGET_S)  # timing per comparison: the tests check decisions, not speed

ONE_STEP = Recipe.model_validate({"evaluation": {"state": {}}})  # every sample judged on its own, no rollout


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trained detector, a damaged and a faithful variant, and ordered sequences to judge them on."""
    root = tmp_path_factory.mktemp("stream")
    data = models.streaming_dataset()
    data.pop("truth")
    return {
        "original": models.streaming_detector(root / "original.onnx"),
        "damaged": models.streaming_detector_damaged(root / "damaged.onnx"),
        "faithful": models.streaming_detector_faithful(root / "faithful.onnx"),
        "data": write_npz(root / "stream.npz", **data),
    }


def judge(original: Path, candidate: Path, data: Path, recipe: Recipe | None = None) -> dict:  # type: ignore[type-arg]
    return compare(original, candidate, data, recipe, threads=1, time_budget_s=0.2)


def test_a_drifting_state_fails_the_rollout_even_when_one_step_looks_perfect(stream):
    result = judge(stream["original"], stream["damaged"], stream["data"])
    verdict, outputs = result["verdict"], {o["name"]: o for o in result["per_output"]}
    assert verdict["judged_by"] == "rollout" and verdict["state"] == {"state": "stateN"}
    assert verdict["within"] is False and verdict["decided_by"] in {"output", "stateN"}
    assert outputs["output"]["kind"] == "small" and outputs["stateN"]["kind"] == "dense"
    assert outputs["output"]["metrics"]["decision_agreement"] < 0.95
    assert outputs["stateN"]["metrics"]["cosine_mean"] < 0.95 and not outputs["stateN"]["within"]
    assert "rollout over" in verdict["why"]
    # Fed the dataset's zero state at every step, the damage (in the recurrent weights) cannot show.
    one_step = judge(stream["original"], stream["damaged"], stream["data"], ONE_STEP)
    assert one_step["verdict"]["judged_by"] == "samples" and one_step["verdict"]["within"] is True


def test_a_faithful_variant_passes_the_rollout(stream):
    result = judge(stream["original"], stream["faithful"], stream["data"])
    assert result["verdict"]["within"] is True and result["verdict"]["judged_by"] == "rollout"
    assert all(o["within"] for o in result["per_output"])


def test_sequences_are_kept_whole_and_in_order(stream):
    from worker.engine.data import load_dataset, split
    from worker.engine.modelio import input_specs, load

    dataset = load_dataset(stream["data"], input_specs(load(stream["original"])))
    parts = split(dataset, calibration_fraction=0.5, seed=0, max_eval_samples=1000, ordered=True)
    assert parts.evaluation_sequences and parts.calibration_sequences
    ids = dataset.sequence_ids
    assert ids is not None
    for sequence in parts.evaluation_sequences:
        assert len(set(ids[sequence])) == 1 and np.all(np.diff(sequence) == 1)
    assert not set(parts.evaluation) & set(parts.calibration)


def test_the_default_recipe_on_the_streaming_detector(stream, tmp_path):
    # The scalar int64 sample rate reaches onnxruntime as a 0-d array; the verdict is a rollout over both outputs.
    result = optimize(
        stream["original"], stream["data"], Recipe(), tmp_path / "out", threads=1, latency_budget_s=BUDGET_S
    )
    report = Report.model_validate(result.report)
    assert report.verdict.judged_by == "rollout" and report.verdict.state == {"state": "stateN"}
    assert {o.name: o.kind for o in report.optimized.per_output} == {"output": "small", "stateN": "dense"}
    assert report.split.evaluation_sequences is not None and report.split.evaluation_sequences >= 1
    if report.goal_met:
        assert all(o.within for o in report.optimized.per_output)
    if report.unchanged:
        assert report.speedup == 1.0 and report.speedup_interval.low == report.speedup_interval.high == 1.0


def test_static_int8_calibrated_on_rolled_out_states_is_judged_on_the_trajectory(stream, tmp_path):
    recipe = Recipe.model_validate({"passes": [{"type": "quantize", "mode": "static"}]})
    report = optimize(
        stream["original"], stream["data"], recipe, tmp_path / "out", threads=1, latency_budget_s=BUDGET_S
    ).report
    assert report["verdict"]["judged_by"] == "rollout"
    outputs = {o["name"]: o for o in report["optimized"]["per_output"]}
    assert report["verdict"]["within"] == (outputs["output"]["within"] and outputs["stateN"]["within"])
    assert report["goal_met"] is False or report["verdict"]["within"] is True


def test_two_heads_where_only_the_second_breaks(tmp_path):
    original = models.two_heads(tmp_path / "two.onnx")
    broken = models.two_heads(tmp_path / "broken.onnx", break_second=True)
    data = write_npz(tmp_path / "two.npz", **models.two_heads_data())
    result = judge(original, broken, data)
    outputs = {o["name"]: o for o in result["per_output"]}
    assert outputs["logits"]["within"] and outputs["logits"]["metrics"]["top1_agreement"] == 1.0
    assert not outputs["embedding"]["within"] and outputs["embedding"]["kind"] == "dense"
    assert result["verdict"]["within"] is False and result["verdict"]["decided_by"] == "embedding"


@pytest.mark.parametrize(
    ("builder", "data", "kinds"),
    [
        (models.scalar_input_mlp, models.scalar_input_data, {"y": "small"}),
        (models.typed_inputs, models.typed_inputs_data, {"scores": "small", "best": "integer"}),
        (models.no_batch_axis, models.no_batch_axis_data, {"features": "dense"}),
    ],
)
def test_every_input_kind_runs_through_a_job(tmp_path, builder, data, kinds):  # type: ignore[no-untyped-def]
    model = builder(tmp_path / "model.onnx")
    npz = write_npz(tmp_path / "data.npz", **data())
    recipe = Recipe.model_validate({"target": {"batch_size": 4}})
    report = Report.model_validate(
        optimize(model, npz, recipe, tmp_path / "out", threads=1, latency_budget_s=BUDGET_S).report
    )
    assert {o.name: o.kind for o in report.optimized.per_output} == kinds
    assert report.verdict.judged_by == "samples"
    # rank-0 and batch-less inputs are fed one sample at a time: the report says latency is at batch 1
    per_sample = builder is not models.typed_inputs
    assert (report.environment.batch_size == 1) == per_sample
    assert any("latency is measured at batch 1" in w for w in report.warnings) == per_sample


def test_a_result_that_is_the_input_is_unchanged_with_speedup_exactly_one(tmp_path):
    from worker.engine.api import final_comparison, load_model, measure_baseline
    from worker.engine.progress import Reporter

    model = models.two_heads(tmp_path / "two.onnx")
    data = write_npz(tmp_path / "two.npz", **models.two_heads_data())
    reporter = Reporter(None, None)
    work = tmp_path / "work"
    work.mkdir()
    source = load_model(model, "onnx", work, reporter)
    evaluation = measure_baseline(source, data, Recipe(), work, reporter, 1)
    copy = shutil.copy(source, work / "same-bytes.onnx")  # what a pass that changed nothing hands back
    outcome = final_comparison(evaluation, Recipe(), source, Path(copy), True)
    assert outcome.unchanged and outcome.path == source
    assert outcome.speedup.value == outcome.speedup.low == outcome.speedup.high == 1.0
    assert outcome.baseline is outcome.optimized  # timed once, not twice
    assert not outcome.speedup.measurably_slower
