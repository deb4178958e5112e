"""Recovery after pruning: fine-tuning with labels or distillation, on the CPU (and CUDA where there is one),
cancellation inside training, composing with quantize, and tuning the sparsity."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from app.core.schemas.recipe import FineTune, Recipe
from app.core.schemas.report import Report
from tests.engine.conftest import write_npz
from tests.engine.pruning import CUDA, prune, run
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import Cancelled, EngineError, optimize
from worker.engine.context import PassContext
from worker.engine.data import Dataset, split
from worker.engine.progress import Reporter

BUDGET_S = float(TEST_LATENCY_BUDGET_S)  # timing per comparison: the tests check decisions, not speed


def test_finetune_with_labels_recovers_accuracy(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    common = {"split": {"max_eval_samples": 500}, "quality": {"max_accuracy_drop": 1.0}}
    pruned = prune(sparsity=0.8, exclude_first_last=False)
    plain = run(model, dataset, tmp_path / "plain", passes=[pruned], **common)
    tuned = run(model, dataset, tmp_path / "tuned", passes=[{**pruned, "finetune": {"epochs": 3}}], **common)
    accuracy = [r.report["optimized"]["accuracy"]["top1"] for r in (plain, tuned)]
    assert accuracy[1] > accuracy[0] + 0.02, accuracy
    finetune = tuned.report["passes"][0]["finetune"]
    assert finetune["loss"] == "cross-entropy on labels" and finetune["data"] == "calibration split"
    assert finetune["train_samples"] == tuned.report["split"]["calibration_samples"]
    assert len(finetune["epoch_losses"]) == 3 and finetune["epoch_losses"][-1] < finetune["epoch_losses"][0]
    assert finetune["device"] == "cpu" and finetune["device_reason"].startswith("the target device is cpu")


@CUDA
def test_finetune_on_cuda_recovers_accuracy_and_hands_back_a_cpu_model(tmp_path, digits_model):
    """``finetune.device: cuda`` trains on the GPU for a CPU target: the report is measured on the CPU."""
    model, dataset, _, _ = digits_model
    common = {"split": {"max_eval_samples": 500}, "quality": {"max_accuracy_drop": 1.0}}
    pruned = prune(sparsity=0.8, exclude_first_last=False)
    plain = run(model, dataset, tmp_path / "plain", passes=[pruned], **common)
    on_gpu = {"epochs": 3, "distill": True, "device": "cuda"}
    tuned = run(model, dataset, tmp_path / "tuned", passes=[{**pruned, "finetune": on_gpu}], **common)
    accuracy = [r.report["optimized"]["accuracy"]["top1"] for r in (plain, tuned)]
    assert accuracy[1] > accuracy[0] + 0.02, accuracy
    finetune = tuned.report["passes"][0]["finetune"]
    assert finetune["device"] == "cuda" and finetune["device_name"] == torch.cuda.get_device_name(0)
    assert finetune["device_reason"] == "finetune.device is cuda"
    assert finetune["loss"].startswith("cross-entropy on labels + distillation")
    assert finetune["epoch_losses"][-1] < finetune["epoch_losses"][0]
    assert tuned.report["environment"]["device"] == "cpu"  # latency and quality measured on the target


@CUDA
def test_unstructured_finetune_on_cuda_keeps_the_zeros(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    on_gpu = {"epochs": 1, "device": "cuda"}
    result = run(
        model,
        dataset,
        tmp_path / "out",
        passes=[prune(method="unstructured", sparsity=0.7, scope="global", finetune=on_gpu)],
        split={"max_eval_samples": 300},
        quality={"max_accuracy_drop": 1.0},
    )
    summary = result.report["passes"][0]
    assert summary["finetune"]["device"] == "cuda"
    arrays = {
        i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(result.artifacts["model.onnx"])).graph.initializer
    }
    pruned_weights = [r["initializer"] for r in summary["layers"]]
    zeros = sum(int(np.sum(arrays[n] == 0)) for n in pruned_weights)
    assert abs(zeros / sum(arrays[n].size for n in pruned_weights) - 0.7) < 0.01


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the cuda tests above run instead")
def test_finetune_on_cuda_without_a_gpu_is_a_clear_error(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    on_gpu = prune(sparsity=0.5, finetune={"epochs": 1, "device": "cuda"})
    stages: list[str] = []
    with pytest.raises(EngineError) as info:
        optimize(
            model,
            dataset,
            Recipe.model_validate({"passes": [on_gpu]}),
            tmp_path / "out",
            threads=1,
            latency_budget_s=BUDGET_S,
            progress=lambda stage, fraction, message="", **_: stages.append(stage),
        )
    assert info.value.code == "no_gpu"
    assert "finetune.device: cuda" in info.value.message and "gpu queue" in info.value.message
    assert set(stages) == {"loading"}  # refused before the baseline is measured or anything is pruned


def test_distillation_without_labels_and_taylor_importance(tmp_path, digits_model):
    model, _, x, _ = digits_model
    events: list[str] = []
    result = optimize(
        model,
        write_npz(tmp_path / "unlabelled.npz", x=x[:400]),
        Recipe.model_validate(
            {
                "passes": [prune(sparsity=0.5, importance="taylor", finetune={"epochs": 2, "distill": True})],
                "quality": {"min_top1_agreement": 0.0},
            }
        ),
        tmp_path / "out",
        threads=1,
        latency_budget_s=BUDGET_S,
        progress=lambda stage, fraction, message="", **_: events.append(message),
    )
    summary = result.report["passes"][0]
    assert summary["finetune"]["loss"].startswith("distillation from the original model")
    assert any("Taylor importance" in note and "own predictions" in note for note in summary["notes"])
    epochs = [m.split(":")[0] for m in events if m.startswith("fine-tuning epoch")]
    assert epochs == ["fine-tuning epoch 1/2", "fine-tuning epoch 2/2"]
    assert summary["output"]["fidelity"]["top1_agreement"] > 0.5


def test_prune_then_quantize_reports_each_step(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    result = run(
        model,
        dataset,
        tmp_path / "out",
        passes=[
            prune(sparsity=0.5, importance="taylor", finetune={"epochs": 1}),
            {"type": "quantize", "mode": "static"},
        ],
        split={"max_eval_samples": 300},
        quality={"max_accuracy_drop": 1.0},
    )
    report = Report.model_validate(result.report)
    pruned, quantized = report.passes
    assert pruned["type"] == "prune" and quantized["type"] == "quantize"
    assert pruned["output"]["macs"] < pruned["input"]["macs"]
    assert any("Taylor importance" in note and "using labels" in note for note in pruned["notes"])
    for step in report.passes:  # every step shows its own effect on size, parameters and MACs
        effect = step["effect"]
        assert effect["input"]["size_bytes"] > 0 and effect["output"]["macs"] > 0
    assert pruned["effect"]["output"]["size_bytes"] == quantized["effect"]["input"]["size_bytes"]
    assert quantized["effect"]["output"]["size_bytes"] < quantized["effect"]["input"]["size_bytes"]
    assert Counter(n.op_type for n in onnx.load(str(result.artifacts["model.onnx"])).graph.node)["QuantizeLinear"] > 0
    assert report.optimized.parameter_count < report.baseline.parameter_count


def test_breaking_the_quality_limit_says_so(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    result = run(
        model,
        dataset,
        tmp_path / "out",
        passes=[prune(sparsity=0.95, exclude_first_last=False)],
        split={"max_eval_samples": 300},
    )
    assert result.report["goal_met"] is False
    assert result.report["passes"][0]["within_limit"] is False
    assert any(
        w.startswith("prune (structured, sparsity 0.95) breaks the quality limit: output 'logits' (classifier): "
                     "accuracy drop")
        for w in result.report["warnings"]
    )  # fmt: skip


def test_unstructured_with_finetune_keeps_the_zeros(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    result = run(
        model,
        dataset,
        tmp_path / "out",
        passes=[prune(method="unstructured", sparsity=0.7, scope="global", finetune={"epochs": 1})],
        split={"max_eval_samples": 300},
        quality={"max_accuracy_drop": 1.0},
    )
    summary = result.report["passes"][0]
    assert summary["finetune"]["epochs"] == 1
    assert summary["layers"] and all(row["sparsity"] > 0.3 for row in summary["layers"])
    kept = onnx.load(str(result.artifacts["model.onnx"]))
    pruned_weights = [r["initializer"] for r in summary["layers"]]
    arrays = {i.name: onnx.numpy_helper.to_array(i) for i in kept.graph.initializer}
    total = sum(arrays[n].size for n in pruned_weights)
    zeros = sum(int(np.sum(arrays[n] == 0)) for n in pruned_weights)
    assert abs(zeros / total - 0.7) < 0.01


def _context(tmp_path: Path, x: np.ndarray, labels: np.ndarray, is_cancelled) -> PassContext:  # type: ignore[no-untyped-def]
    from worker.engine.rollout import Plan
    from worker.engine.verdict import Judge

    dataset = Dataset({"x": x}, {"x": False}, labels, len(x))
    data_split = split(dataset, calibration_fraction=0.5, seed=0, max_eval_samples=100)
    reporter = Reporter(None, is_cancelled)
    reference = [np.eye(10, dtype=np.float32)[labels[data_split.evaluation]]]
    judge = Judge(Recipe().quality, reference, ["logits"], labels[data_split.evaluation])
    plan = Plan([data_split.evaluation], {}, 1, ["logits"])
    return PassContext(
        tmp_path, Recipe().target, Recipe().quality, dataset, data_split, reporter, 1, plan, judge,
        judge.judge(reference),
    )  # fmt: skip


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_cancellation_is_honoured_between_training_batches(tmp_path, digits_model, device):
    import copy

    from worker.engine import finetune
    from worker.engine.lift import lift

    model, _, x, y = digits_model
    checks = 0

    def cancelled() -> bool:
        nonlocal checks
        checks += 1
        return checks > 3

    ctx = _context(tmp_path, x[:400], y[:400], cancelled)
    student = lift(onnx.load(str(model))).module
    before = copy.deepcopy(student.state_dict())
    with pytest.raises(Cancelled):
        finetune.train(ctx, student, None, FineTune(epochs=5, batch_size=16, device=device), ["x"])
    assert checks == 4  # three batches trained, the fourth check stopped it inside the first epoch
    changed = any(not (before[k] == v).all() for k, v in student.state_dict().items())
    assert changed
    assert {p.device.type for p in student.parameters()} == {"cpu"}  # handed back on the CPU all the same


def test_tune_searches_the_prune_sparsity(tmp_path, digits_model):
    model, dataset, _, _ = digits_model
    events: list[str] = []
    result = optimize(
        model,
        dataset,
        Recipe.model_validate(
            {
                "passes": [prune(sparsity=0.5)],
                "split": {"max_eval_samples": 300},
                "tune": {"max_accuracy_drop": 0.05, "trials": 4, "sampler": "random", "seed": 1},
            }
        ),
        tmp_path / "out",
        threads=1,
        latency_budget_s=BUDGET_S,
        progress=lambda stage, fraction, message="", **kw: events.append(kw.get("type", "progress")),
    )
    report = Report.model_validate(result.report)
    assert report.tuning is not None and events.count("trial") == len(report.tuning.trials) >= 2
    sparsities = {t.params["prune.sparsity"] for t in report.tuning.trials if "prune.sparsity" in t.params}
    assert 0.5 in sparsities and len(sparsities) >= 2, sparsities  # the reference, then other sparsities
    best = next(t for t in report.tuning.trials if t.number == report.tuning.best_trial)
    if report.tuning.goal_met:
        assert report.accuracy_drop is not None and report.accuracy_drop <= 0.05 + 1e-9
        assert best.metrics is not None and best.metrics["within_limit"] is True
    else:
        assert report.tuning.shortfall and "limit" in report.tuning.shortfall
