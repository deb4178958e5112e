"""The hardware pre-flight: what each class of machine favours, and a job that names the class it ran for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.core.schemas.recipe import Recipe
from app.core.schemas.report import Report
from tests.factories import npz_bytes
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import hardware, optimize
from worker.engine.preflight import (
    DYNAMIC,
    FP16,
    FP32,
    STATIC,
    STATIC_FLOAT_STEM,
    Hardware,
    OpMix,
    decide,
)

AVX2 = frozenset({"sse4_2", "avx", "avx2", "fma"})
AVX512_VNNI = AVX2 | {"avx512f", "avx512bw", "avx512_vnni"}
AMX = AVX512_VNNI | {"amx_tile", "amx_int8"}
ARM_DOTPROD = frozenset({"fp", "asimd", "asimddp"})
CONV_NET = OpMix(conv=4, matmul=1, image_stem=True)


def machine(flags: frozenset[str]) -> Hardware:
    """A CPU worker offering the class its flags map to, as detection would name it."""
    return Hardware(hardware.cpu_class(flags, "aarch64" if "asimd" in flags else "x86_64"), flags)


def test_without_int8_dot_products_static_int8_is_measured_last():
    decision = decide(machine(AVX2), "cpu", CONV_NET)
    assert decision.hardware_class == "cpu-avx2"
    assert decision.notes == [
        "no int8 dot-product instructions (VNNI/AMX) on this CPU: int8 convolutions are usually slower than fp32 "
        "here; static int8 candidates are measured last"
    ]
    assert decision.order == [FP32, DYNAMIC, STATIC_FLOAT_STEM, STATIC]
    # static int8 won on a small CNN even there (benchmarks/RESULTS.md): ordered last, never skipped
    assert set(decision.skipped) == {FP16}


@pytest.mark.parametrize(
    ("flags", "named"),
    [(AVX512_VNNI, "AVX-512 VNNI"), (AMX, "AMX"), (AVX2 | {"avx_vnni"}, "AVX-VNNI"), (ARM_DOTPROD, "Arm dot-product")],
)
def test_with_int8_dot_products_int8_is_measured_first(flags, named):
    decision = decide(machine(flags), "cpu", CONV_NET)
    [note] = decision.notes
    assert note.startswith(named) and "int8 convolutions and matmuls are fast here" in note
    assert decision.order == [STATIC, STATIC_FLOAT_STEM, DYNAMIC, FP32]


def test_arm_without_the_dot_product_extension_is_named_as_such():
    decision = decide(machine(frozenset({"fp", "asimd"})), "cpu", CONV_NET)
    assert decision.hardware_class == "cpu-arm64"
    assert "(the Arm dot-product extension)" in decision.notes[0] and decision.order[0] == FP32


def test_a_cuda_target_measures_fp16_first():
    decision = decide(Hardware("cuda-sm90", AVX512_VNNI), "cuda", CONV_NET)
    assert decision.notes[0].startswith("CUDA target: fp16 first")
    assert decision.order == [FP16, FP32, STATIC_FLOAT_STEM, STATIC, DYNAMIC]
    assert decision.skipped == {}


def test_unknown_flags_keep_the_default_order():
    decision = decide(Hardware("cpu-riscv64"), "cpu", CONV_NET)
    assert "unknown" in decision.notes[0]
    assert decision.order == [FP32, STATIC, STATIC_FLOAT_STEM, DYNAMIC]


def test_the_class_offered_decides_and_a_disagreeing_cpu_is_said():
    decision = decide(Hardware("cpu-avx512-vnni", AVX2), "cpu", CONV_NET)
    assert decision.order[0] == STATIC
    assert "offers class cpu-avx512-vnni, but this CPU's flags (avx2) say otherwise" in decision.notes[1]


@pytest.mark.parametrize(
    ("ops", "order", "skipped"),
    [
        (OpMix(conv=3, matmul=0, image_stem=False), [FP32, STATIC], {DYNAMIC, FP16}),  # ConvInteger: several x slower
        (OpMix(conv=0, matmul=2), [FP32, DYNAMIC, STATIC], {FP16}),
        (OpMix(conv=0, matmul=0), [FP32], {STATIC, DYNAMIC, FP16}),  # nothing for int8 to speed up
    ],
)
def test_the_op_mix_decides_what_is_skipped_and_the_report_says_why(ops, order, skipped):
    decision = decide(machine(AVX2), "cpu", ops)
    assert decision.order == order and set(decision.skipped) == skipped
    described = decision.describe()["skipped"]
    assert all(row["reason"] for row in described) and len(described) == len(skipped)


def test_no_class_given_means_the_workers_own(monkeypatch):
    monkeypatch.setenv(hardware.CLASS_OVERRIDE_ENV, "cpu-test")
    assert Hardware.of_this_worker().hardware_class == "cpu-test"
    assert Hardware.of_this_worker("cpu-amx").hardware_class == "cpu-amx"


# -- a job -------------------------------------------------------------------------------------------------


def tiny_conv_net(path: Path) -> Path:
    """Two convolutions over 1×8×8 gray images (the first one an image stem) and 4 logits."""
    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["logits"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])],
        [weight("w1", 8, 1, 3, 3), weight("b1", 8), weight("w2", 4, 8, 3, 3), weight("b2", 4)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run_job(tmp_path: Path, hardware_class: str) -> tuple[Report, list[dict[str, Any]]]:
    model = tiny_conv_net(tmp_path / "model.onnx")
    data = tmp_path / "data.npz"
    data.write_bytes(npz_bytes(x=np.random.default_rng(1).standard_normal((24, 1, 8, 8)).astype(np.float32)))
    events: list[dict[str, Any]] = []

    def progress(stage: str, fraction: float, message: str = "", *, type: str = "progress", data=None) -> None:  # type: ignore[no-untyped-def]
        events.append({"type": type, "message": message, "data": data})

    result = optimize(
        model,
        data,
        Recipe(),
        tmp_path / hardware_class,
        threads=1,
        latency_budget_s=float(TEST_LATENCY_BUDGET_S),
        progress=progress,
        hardware_class=hardware_class,
    )
    return Report.model_validate(result.report), events


def test_a_job_names_the_class_it_ran_for_and_orders_candidates_for_it(tmp_path):
    for hardware_class, first, note in [
        ("cpu-avx2", "fp32 optimized offline", "no int8 dot-product instructions (VNNI/AMX)"),
        ("cpu-avx512-vnni", "static int8 QDQ (minmax, per-channel)", "AVX-512 VNNI: int8 convolutions"),
    ]:
        report, events = run_job(tmp_path, hardware_class)
        environment = report.environment
        assert environment.hardware_class == hardware_class
        assert environment.preflight.notes[0].startswith(note)
        assert [s.candidate for s in environment.preflight.skipped] == ["dynamic int8", "fp16"]
        [said] = [e for e in events if e["type"] == "log" and e["message"].startswith("pre-flight")]
        assert said["message"].startswith(f"pre-flight ({hardware_class}): {note}")
        assert said["data"]["notes"] == environment.preflight.notes
        candidates = report.passes[0]["candidates"]
        assert candidates[0]["name"] == first and len(candidates) == 5
        page = (tmp_path / hardware_class / "report.html").read_text()
        assert hardware_class in page and environment.cpu in page
