"""The quantize pass on small real models: valid output, expected node types, quality within limit."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from app.core.schemas.recipe import Recipe
from app.core.schemas.report import Report
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import Cancelled, EngineError, optimize

BUDGET_S = float(TEST_LATENCY_BUDGET_S)  # timing per comparison: the tests check decisions, not speed


def run(model: Path, data: Path, out: Path, **recipe):  # type: ignore[no-untyped-def]
    return optimize(model, data, Recipe.model_validate(recipe), out, threads=1, latency_budget_s=BUDGET_S)


def ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def runs(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feed)


def quantize(mode: str, **options):  # type: ignore[no-untyped-def]
    return {"passes": [{"type": "quantize", "mode": mode, **options}]}


def test_static_qdq_on_a_cnn(built, data, tmp_path):
    result = run(built("cnn"), data(x=(48, 1, 8, 8), labels=10), tmp_path / "out", **quantize("static"))
    model = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(model))
    assert ops(model)["QuantizeLinear"] >= 2 and ops(model)["DequantizeLinear"] >= 4
    report = Report.model_validate(result.report)
    assert report.optimized.size_bytes < report.baseline.size_bytes
    assert report.optimized.fidelity.top1_agreement is not None
    assert report.passes[0]["chosen"].startswith("static int8 QDQ")
    assert report.split.calibration_samples + report.split.evaluation_samples == 48
    runs(model, {"x": np.zeros((3, 1, 8, 8), np.float32)})  # dynamic batch survives


def test_dynamic_int8_on_an_mlp_meets_the_fidelity_limit(built, data, tmp_path):
    result = run(built("mlp"), data(x=(64, 32)), tmp_path / "out", **quantize("dynamic"))
    model = result.artifacts["model.onnx"]
    assert ops(model)["MatMulInteger"] + ops(model)["DynamicQuantizeMatMul"] >= 1
    fidelity = result.report["optimized"]["fidelity"]
    assert fidelity["cosine_mean"] > 0.95 and fidelity["top1_agreement"] >= 0.8  # an untrained net: close logits


def test_fp16_keeps_float32_io(built, data, tmp_path):
    result = run(built("mlp"), data(x=(16, 32)), tmp_path / "out", **quantize("fp16"))
    model = onnx.load(str(result.artifacts["model.onnx"]))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer)
    assert result.report["optimized"]["size_bytes"] < result.report["baseline"]["size_bytes"]
    assert any("GPU optimization" in note for note in result.report["passes"][0]["notes"])


def test_constant_node_weights_are_folded_for_dynamic(built, data, tmp_path):
    result = run(built("const_mlp"), data(x=(32, 16)), tmp_path / "out", **quantize("dynamic"))
    assert any("Constant node weight" in note for note in result.report["passes"][0]["notes"])
    assert (
        ops(result.artifacts["model.onnx"])["MatMulInteger"]
        + ops(result.artifacts["model.onnx"])["DynamicQuantizeMatMul"]
        >= 1
    )


def test_opset_11_is_converted_for_per_channel_qdq(built, data, tmp_path):
    result = run(built("conv11"), data(x=(32, 1, 8, 8)), tmp_path / "out", **quantize("static", per_channel=True))
    model = onnx.load(str(result.artifacts["model.onnx"]))
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    assert any("converted opset 11" in note for note in result.report["passes"][0]["notes"])
    runs(result.artifacts["model.onnx"], {"x": np.zeros((1, 1, 8, 8), np.float32)})


def test_if_subgraphs_stay_float_and_do_not_crash(built, data, tmp_path):
    for mode in ("dynamic", "static"):
        result = run(built("if"), data(x=(24, 8)), tmp_path / mode, **quantize(mode))
        kept = {k["node"]: k["reason"] for k in result.report["passes"][0]["kept_in_float"]}
        assert "control flow" in kept.get("branch", "")
        runs(result.artifacts["model.onnx"], {"x": np.ones((2, 8), np.float32)})


def test_two_inputs_two_outputs(built, data, tmp_path):
    result = run(built("two_inputs"), data(a=(32, 12), b=(32, 6)), tmp_path / "out", **quantize("static"))
    report = result.report
    assert [o["name"] for o in report["optimized"]["per_output"]] == ["y", "gate"]
    outs = runs(result.artifacts["model.onnx"], {"a": np.ones((2, 12), np.float32), "b": np.ones((2, 6), np.float32)})
    assert [o.shape for o in outs] == [(2, 10), (2, 10)]


def test_decomposed_layernorm_is_kept_in_float(built, data, tmp_path):
    result = run(built("layernorm"), data(x=(48, 16)), tmp_path / "out", **quantize("static"))
    kept = {k["node"] for k in result.report["passes"][0]["kept_in_float"]}
    assert {"ln_mean", "ln_sub", "ln_pow", "ln_var", "ln_sqrt", "ln_div"} <= kept
    [y] = result.report["optimized"]["per_output"]
    assert y["kind"] == "small"  # 8 values per sample: judged across samples, not by a per-sample cosine
    assert y["metrics"]["normalized_rmse"] < 0.2 and y["metrics"]["pearson"] > 0.98


def test_recurrent_state_input_is_not_quantized(built, data, tmp_path):
    result = run(built("rnn"), data(x=(32, 8), state=(32, 16)), tmp_path / "out", **quantize("static"))
    kept = {k["node"]: k["reason"] for k in result.report["passes"][0]["kept_in_float"]}
    assert any(name.startswith("mm_state") and "recurrent state" in reason for name, reason in kept.items())
    quantized = onnx.load(str(result.artifacts["model.onnx"]))
    assert not any(n.op_type == "QuantizeLinear" and n.input[0] == "state" for n in quantized.graph.node)


def test_duplicate_and_empty_node_names_are_repaired(built, data, tmp_path):
    result = run(built("dups"), data(x=(32, 8)), tmp_path / "out", **quantize("dynamic"))
    assert any("unique names" in warning for warning in result.report["warnings"])
    names = [n.name for n in onnx.load(str(result.artifacts["model.onnx"])).graph.node]
    assert len(names) == len(set(names)) and all(names)


def test_transformer_block_dynamic(built, data, tmp_path):
    result = run(built("transformer"), data(x=(24, 8, 32)), tmp_path / "out", **quantize("dynamic"))
    assert result.report["optimized"]["fidelity"]["cosine_mean"] > 0.95
    runs(result.artifacts["model.onnx"], {"x": np.zeros((3, 8, 32), np.float32)})


def test_auto_never_returns_a_slower_model(built, data, tmp_path):
    # On this CNN the int8 candidates are slower than fp32 on a CPU without VNNI (measured in the pass).
    result = run(built("cnn"), data(x=(48, 1, 8, 8), labels=10), tmp_path / "out")
    summary = result.report["passes"][0]
    assert summary["mode"] == "auto" and len(summary["candidates"]) >= 2
    names = {c["name"] for c in summary["candidates"]}
    assert "fp32 optimized offline" in names and any(n.startswith("static int8") for n in names)
    if summary["chosen"] is None:
        assert result.report["unchanged"] is True
        assert any("returned unchanged" in w for w in result.report["warnings"])
    else:
        chosen = next(c for c in summary["candidates"] if c["name"] == summary["chosen"])
        assert chosen["latency_ms_p50"] * 1.03 <= summary["input_latency_ms_p50"]
        assert chosen["within_limit"] is True
    assert result.report["goal_met"] is True


def test_auto_also_measures_static_int8_with_the_image_stem_in_float(built, data, tmp_path):
    from worker.engine.graph import analysis

    model = onnx.load(str(built("cnn")))
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    stems = analysis.image_stems(model)
    assert list(stems) == [convs[0].name] and "over 1 input channel(s)" in stems[convs[0].name]  # gray images
    assert analysis.image_stems(onnx.load(str(built("mlp")))) == {}
    result = run(built("cnn"), data(x=(48, 1, 8, 8), labels=10), tmp_path / "out")
    summary = result.report["passes"][0]
    rows = {c["name"]: c for c in summary["candidates"]}
    for granularity in ("per-channel", "per-tensor"):
        row = rows[f"static int8 QDQ (minmax, {granularity}, stem in float)"]
        assert row["latency_ms_p50"] > 0 and row["within_limit"] is not None  # built, checked and timed
    if summary["chosen"] and summary["chosen"].endswith("stem in float)"):
        assert any("image stem" in n["reason"] for n in summary["kept_in_float"])


def test_explicit_mode_that_is_slower_says_so(built, data, tmp_path):
    # dynamic int8 turns Conv into ConvInteger: several times slower on CPUs without VNNI (STACK.md)
    result = run(built("cnn"), data(x=(32, 1, 8, 8)), tmp_path / "out", **quantize("dynamic"))
    assert result.report["goal_met"] is False
    assert any("slower than the input" in w for w in result.report["warnings"])
    assert result.report["speedup"] < 1.0


def test_explicit_mode_that_breaks_the_limit_says_so(built, data, tmp_path):
    # An impossible limit: no int8 model matches fp32 with zero error (y has 8 values: judged across samples).
    result = run(
        built("layernorm"),
        data(x=(64, 16)),
        tmp_path / "out",
        quality={"max_normalized_rmse": 0.0},
        **quantize("static", nodes_to_exclude=[]),
    )
    assert result.report["goal_met"] is False
    assert any("breaks the quality limit" in w for w in result.report["warnings"])
    assert result.report["verdict"]["within"] is False and result.report["verdict"]["decided_by"] == "y"


def test_cuda_target_without_a_gpu_is_a_clear_error(built, data, tmp_path):
    with pytest.raises(EngineError) as info:
        run(built("mlp"), data(x=(8, 32)), tmp_path / "out", target={"device": "cuda"})
    assert info.value.code == "no_gpu" and "gpu queue" in info.value.message


def test_cancellation_is_honoured_inside_the_job(built, data, tmp_path):
    calls = iter(range(1000))

    def cancelled() -> bool:
        return next(calls) >= 3

    with pytest.raises(Cancelled):
        optimize(
            built("cnn"),
            data(x=(48, 1, 8, 8)),
            Recipe(),
            tmp_path / "out",
            threads=1,
            latency_budget_s=BUDGET_S,
            is_cancelled=cancelled,
        )


def test_progress_is_reported_in_order(built, data, tmp_path):
    seen: list[tuple[str, float]] = []
    optimize(
        built("mlp"),
        data(x=(16, 32)),
        Recipe.model_validate(quantize("dynamic")),
        tmp_path / "out",
        threads=1,
        latency_budget_s=BUDGET_S,
        progress=lambda stage, fraction, message="", **_: seen.append((stage, fraction)),
    )
    fractions = [f for _, f in seen]
    assert fractions[0] < 0.1 and fractions[-1] >= 0.97
    assert fractions == sorted(fractions)
    assert any(stage.startswith("pass 1/1: quantize") for stage, _ in seen)


def test_report_html_and_plots(built, data, tmp_path):
    result = run(built("cnn"), data(x=(32, 1, 8, 8), labels=10), tmp_path / "out", **quantize("dynamic"))
    assert {"report.json", "report.html", "latency.png", "tradeoff.png", "model.onnx"} <= set(result.artifacts)
    html = result.artifacts["report.html"].read_text()
    # the plots are inside the page (inline SVG), the PNGs are extra artifacts for whoever wants the images
    assert "Slimline report" in html and 'id="plot-latency"' in html and "<img" not in html
    assert result.artifacts["latency.png"].read_bytes()[:4] == b"\x89PNG"


def test_torch_export_archive_is_exported_once_and_optimized(data, tmp_path):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)).eval()
    program = torch.export.export(net, (torch.randn(2, 16),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    archive = tmp_path / "net.pt2"
    torch.export.save(program, str(archive))
    # torch.export names a Sequential's argument "input"; the dataset is keyed by that name.
    result = optimize(
        archive,
        data(input=(32, 16)),
        Recipe.model_validate(quantize("dynamic")),
        tmp_path / "out",
        model_format="torch_export",
        threads=1,
        latency_budget_s=BUDGET_S,
    )
    assert result.report["baseline"]["parameter_count"] == 16 * 32 + 32 + 32 * 4 + 4
    onnx.checker.check_model(str(result.artifacts["model.onnx"]))


def test_split_is_reproducible_and_disjoint():
    from worker.engine.data import Dataset, split

    dataset = Dataset({"x": np.zeros((100, 2), np.float32)}, {"x": False}, None, 100)
    first = split(dataset, calibration_fraction=0.3, seed=7, max_eval_samples=1000)
    again = split(dataset, calibration_fraction=0.3, seed=7, max_eval_samples=1000)
    assert np.array_equal(first.calibration, again.calibration) and np.array_equal(first.evaluation, again.evaluation)
    assert not set(first.calibration) & set(first.evaluation)
    assert len(first.calibration) == 30 and len(first.evaluation) == 70


def test_importing_the_engine_is_cheap():
    code = "import sys, worker.engine; print([m for m in ('torch', 'onnxruntime') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
