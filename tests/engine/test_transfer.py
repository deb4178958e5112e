"""The transfer pass: a CNN trained on digits 0-4 learns digits 5-9 from a few hundred labelled images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from app.core.schemas.recipe import Recipe
from tests.engine.prune_models import digits, small_cnn
from worker.engine import optimize
from worker.engine.errors import EngineError
from worker.engine.passes.transfer import graph

NAMES = np.array(["five", "six", "seven", "eight", "nine"])


def _source_cnn(path: Path, x: np.ndarray, y: np.ndarray, *, softmax: bool = False) -> Path:
    """A small CNN trained on digits 0-4 (5 outputs), exported with a dynamic batch."""
    import torch
    from torch import nn

    from tests.factories import export_onnx

    torch.manual_seed(0)
    net = small_cnn(5)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(4):
        for batch in torch.randperm(len(xs), generator=torch.Generator().manual_seed(0)).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(xs[batch]), ys[batch]).backward()
            optimizer.step()
    exported = nn.Sequential(net, nn.Softmax(-1)) if softmax else net
    return export_onnx(exported.eval(), (xs[:2],), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The source model and a dataset of 300 images of digits 5-9 (labels 0..4, named)."""
    work = tmp_path_factory.mktemp("transfer")
    x, y = digits()
    model = _source_cnn(work / "source.onnx", x[y < 5], y[y < 5])
    target = np.flatnonzero(y >= 5)
    np.random.default_rng(0).shuffle(target)
    job = target[:300]
    data = work / "digits5-9.npz"
    np.savez(data, x=x[job], labels=(y[job] - 5).astype(np.int64), label_names=NAMES)
    return {"model": model, "data": data, "work": work}


def _run(source: dict[str, Path], passes: list[dict], name: str, **split: float) -> dict:
    recipe = Recipe.model_validate({"passes": passes, "split": {"calibration_fraction": 0.5, **split}})
    return optimize(source["model"], source["data"], recipe, source["work"] / name, threads=2).report


def test_the_head_is_found_and_replaced_keeping_the_batch_axis_open_and_a_softmax(tmp_path: Path) -> None:
    x, y = digits()
    model = onnx.load(str(_source_cnn(tmp_path / "soft.onnx", x[:200], y[:200] % 5, softmax=True)))
    head = graph.find_head(model, None)
    assert head.old_classes == 5 and head.activation == "Softmax" and head.output == "logits"
    body = graph.backbone(model, head)
    assert [o.name for o in body.graph.output] == [head.feature]
    weight, bias = np.zeros((3, 64), np.float32), np.zeros(3, np.float32)
    transferred = graph.attach_head(body, head, weight, bias)
    session = ort.InferenceSession(transferred.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"x": x[:7]})
    assert out.shape == (7, 3)
    assert np.allclose(out.sum(-1), 1.0)  # the Softmax the original applied is applied again


def test_a_named_feature_that_does_not_exist_is_a_clear_error(source: dict[str, Path]) -> None:
    with pytest.raises(EngineError, match="transfer.feature names no tensor"):
        graph.find_head(onnx.load(str(source["model"])), "no_such_tensor")


def test_probe_teaches_new_classes_and_the_report_has_per_class_metrics(source: dict[str, Path]) -> None:
    report = _run(source, [{"type": "transfer", "mode": "probe"}], "probe")
    entry = report["passes"][0]
    assert entry["type"] == "transfer" and entry["classes"] == 5 and entry["label_names"] == NAMES.tolist()
    assert entry["metrics"]["transferred"]["accuracy"] >= 0.8
    # the verdict judges the transferred model, never the original's outputs (which mean digits 0-4)
    assert report["baseline_model"] == "transferred" and report["goal_met"]
    assert report["baseline"]["accuracy"]["top1"] == pytest.approx(entry["metrics"]["transferred"]["accuracy"])
    metrics = report["task_metrics"]
    assert [c["name"] for c in metrics["optimized"]["per_class"]] == NAMES.tolist()
    confusion = np.array(metrics["optimized"]["confusion"])
    assert confusion.shape == (5, 5) and confusion.sum() == metrics["optimized"]["samples"] == 150
    assert np.trace(confusion) / confusion.sum() == pytest.approx(metrics["optimized"]["accuracy"])
    # and drawn: a confusion-matrix plot beside the report, inline in report.html
    assert (source["work"] / "probe" / "confusion.png").stat().st_size > 0
    assert "Confusion matrix of the optimized model" in (source["work"] / "probe" / "report.html").read_text()


def test_finetune_against_probe_and_scratch_then_prune_judged_against_the_transferred_model(
    source: dict[str, Path],
) -> None:
    passes = [
        {"type": "transfer", "mode": "finetune", "epochs": 20, "compare_scratch": True},
        {"type": "prune", "method": "structured", "sparsity": 0.25, "finetune": {"epochs": 3}},
    ]
    report = _run(source, passes, "finetune")
    entry = report["passes"][0]
    assert set(entry["metrics"]) == {"transferred", "probe", "scratch"}
    assert entry["comparison"]["winner"] in {"transferred", "probe", "scratch"}
    assert set(entry["comparison"]["margins"]) == {"probe", "scratch"}
    assert entry["training"]["finetune"]["epochs_run"] == 20 and entry["training"]["scratch"]["epochs_run"] == 20
    assert entry["metrics"]["transferred"]["accuracy"] >= 0.85
    transferred = entry["metrics"]["transferred"]["accuracy"]
    assert report["baseline"]["accuracy"]["top1"] == pytest.approx(transferred)
    assert report["passes"][1]["input"]["accuracy"]["top1"] == pytest.approx(transferred)
    assert report["optimized"]["parameter_count"] < report["baseline"]["parameter_count"]
    html = (source["work"] / "finetune" / "report.html").read_text()
    assert 'id="transfer"' in html and 'id="confusion"' in html and "scratch (baseline)" in html


def test_regression_head_reports_mse_mae_and_r2(source: dict[str, Path], tmp_path: Path) -> None:
    x, y = digits()
    rows = np.flatnonzero(y >= 5)[:200]
    data = tmp_path / "ink.npz"
    np.savez(data, x=x[rows], labels=x[rows].mean(axis=(1, 2, 3)).astype(np.float32))  # how much ink
    recipe = Recipe.model_validate({"passes": [{"type": "transfer", "mode": "probe", "task": "regression"}]})
    report = optimize(source["model"], data, recipe, tmp_path / "out", threads=2).report
    scores = report["task_metrics"]["optimized"]
    assert scores["task"] == "regression" and scores["r2"] > 0.5 and scores["mae"] >= 0


def test_misplaced_transfer_and_unusable_labels_fail_with_a_clear_error(source: dict[str, Path]) -> None:
    recipe = Recipe.model_validate({"passes": [{"type": "quantize", "mode": "dynamic"}, {"type": "transfer"}]})
    with pytest.raises(EngineError, match="first pass") as raised:
        optimize(source["model"], source["data"], recipe, source["work"] / "bad", threads=2)
    assert raised.value.code == "invalid_recipe"
    x, _ = digits()
    floats = source["work"] / "floats.npz"
    np.savez(floats, x=x[:40], labels=np.linspace(0, 1, 40).astype(np.float32))
    with pytest.raises(EngineError, match="integer class id") as raised:
        optimize(source["model"], floats, Recipe.model_validate({"passes": [{"type": "transfer"}]}), source["work"])
    assert raised.value.code == "invalid_labels"


def test_label_names_are_allowed_in_a_dataset_but_must_be_strings(tmp_path: Path) -> None:
    from app.core.errors import InvalidDataset
    from app.uploads.validation.npz import inspect_dataset

    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    np.savez(good, x=np.zeros((4, 2), np.float32), labels=np.array([0, 1, 0, 1]), label_names=np.array(["a", "b"]))
    np.savez(bad, x=np.zeros((4, 2), np.float32), label_names=np.zeros(2))
    info = inspect_dataset(good, max_uncompressed_bytes=1 << 20)
    assert info.num_samples == 4 and "label_names" in {a.name for a in info.arrays}
    with pytest.raises(InvalidDataset, match="label_names"):
        inspect_dataset(bad, max_uncompressed_bytes=1 << 20)


def test_a_torch_export_archive_takes_the_same_path(tmp_path: Path) -> None:
    import torch
    from torch import nn

    x, y = digits()
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 32), nn.ReLU())
    net = nn.Sequential(net, nn.Linear(32, 5)).eval()
    program = torch.export.export(net, (torch.from_numpy(x[:2]),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    archive = tmp_path / "net.pt2"
    torch.export.save(program, str(archive))
    rows = np.flatnonzero(y >= 5)[:120]
    data = tmp_path / "data.npz"
    np.savez(data, input=x[rows], labels=(y[rows] - 5).astype(np.int64))  # torch.export names the input "input"
    recipe = Recipe.model_validate({"passes": [{"type": "transfer", "mode": "probe"}]})
    result = optimize(archive, data, recipe, tmp_path / "out", model_format="torch_export", threads=2)
    entry = result.report["passes"][0]
    assert entry["head"]["old_classes"] == 5 and entry["feature_dim"] == 32 and entry["classes"] == 5
    session = ort.InferenceSession(str(result.artifacts["model.onnx"]), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": x[:3]})[0].shape == (3, 5)
