"""The engine's hardware pre-flight: what the worker's hardware favours, decided before any candidate is built.

One pure function, ``decide``, from the hardware (the class the worker offers, its CPU's flags), the target
device and the graph's op mix to notes for the job's events and report, the order in which ``quantize: auto``
builds, checks and lists its candidates (and in which tuning runs auto's candidates as its first, fixed trials,
where the trial count or the time limit may stop it early), and the candidates it does not measure.

The evidence (benchmarks/RESULTS.md): without int8 dot-product instructions (x86 without VNNI/AMX, Arm
without the dot-product extension) int8 convolutions are often slower than fp32 (one small CNN: 1.31x on an
AVX2-only EPYC, 2.42x on an AVX-512 VNNI one; every int8 candidate of a pretrained OCR classifier 0.33-0.93x
on the AVX2 one), yet static int8 still won on that CNN there. So no int8 candidate is skipped for the CPU:
it is measured last. Only candidates measured to lose everywhere are skipped: fp16 on a CPU target and
dynamic int8 on a graph of convolutions without matmuls (ConvInteger, 0.33x on the same CNN). A recipe that
names the mode (``mode: fp16``, ``mode: dynamic``) measures either anyway.

On a transformer graph each of the fp32, static, dynamic and fp16 kinds has a fused twin (the same candidate
built on the graph fused by onnxruntime's transformers optimizer), measured right after it and skipped where
it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.engine import hardware

# The candidate kinds of ``quantize: auto``: the fp32 graph optimized offline, static int8 QDQ (with its
# image stem in float, where the graph has one), dynamic int8, fp16.
FP32 = "fp32"
STATIC = "static"
STATIC_FLOAT_STEM = "static-float-stem"
DYNAMIC = "dynamic"
FP16 = "fp16"
FUSED_FP32 = "fused-fp32"
FUSED_STATIC = "fused-static"
FUSED_DYNAMIC = "fused-dynamic"
FUSED_FP16 = "fused-fp16"
FUSED_TWINS = {FP32: FUSED_FP32, STATIC: FUSED_STATIC, DYNAMIC: FUSED_DYNAMIC, FP16: FUSED_FP16}
KIND_NAMES = {
    FP32: "fp32 optimized offline",
    STATIC: "static int8",
    STATIC_FLOAT_STEM: "static int8 with the image stem in float",
    DYNAMIC: "dynamic int8",
    FP16: "fp16",
    FUSED_FP32: "fused fp32 (transformer fusion)",
    FUSED_STATIC: "fused + static int8",
    FUSED_DYNAMIC: "fused + dynamic int8",
    FUSED_FP16: "fused + fp16",
}

# The classes of worker/engine/hardware.py that name a CPU's int8 instructions, by what they have.
DOT_PRODUCT_CLASSES = {
    "cpu-amx": "AMX",
    "cpu-avx512-vnni": "AVX-512 VNNI",
    "cpu-avx2-vnni": "AVX-VNNI",
    "cpu-arm64-dotprod": "Arm dot-product instructions",
}
NO_DOT_PRODUCT_CLASSES = frozenset({"cpu-avx512", "cpu-avx2", "cpu-x86", "cpu-arm64"})


@dataclass(frozen=True)
class Hardware:
    """What the pre-flight knows of the worker: the class it offers and its CPU's flags (/proc/cpuinfo)."""

    hardware_class: str
    cpu_flags: frozenset[str] = frozenset()

    @classmethod
    def of_this_worker(cls, hardware_class: str | None = None) -> Hardware:
        """This machine, offering ``hardware_class`` (None: the class it detects, or its override)."""
        return cls(hardware_class or hardware.current_class(), hardware.cpu_flags())


@dataclass(frozen=True)
class OpMix:
    """What in the graph int8 can speed up."""

    conv: int
    matmul: int
    image_stem: bool = False  # a first convolution over few channels (graph.analysis.image_stems)
    transformer: bool = False  # a transformer graph to fuse (passes/quantize/transformer.py)


@dataclass(frozen=True)
class Preflight:
    hardware_class: str
    notes: list[str]
    order: list[str]  # candidate kinds, first measured first
    skipped: dict[str, str] = field(default_factory=dict)  # candidate kind -> why it is not measured

    def describe(self) -> dict[str, Any]:
        """The report's ``environment.preflight``."""
        return {
            "notes": self.notes,
            "order": self.order,
            "skipped": [{"candidate": KIND_NAMES[kind], "reason": why} for kind, why in self.skipped.items()],
        }


def int8_dot_product(machine: Hardware) -> bool | None:
    """Whether the offered class has int8 dot-product instructions; for a class that does not say (a GPU's,
    an operator's own name), the CPU's flags; None where neither is known."""
    if machine.hardware_class in DOT_PRODUCT_CLASSES:
        return True
    if machine.hardware_class in NO_DOT_PRODUCT_CLASSES:
        return False
    return hardware.has_int8_dot_product(machine.cpu_flags)


def _skipped(device: str, ops: OpMix) -> dict[str, str]:
    skipped: dict[str, str] = {}
    if not ops.conv and not ops.matmul:
        why = "the graph has no convolution or matmul for int8 to speed up"
        skipped.update({STATIC: why, DYNAMIC: why})
    elif not ops.matmul:
        skipped[DYNAMIC] = (
            "the graph has convolutions and no matmul: dynamic int8 turns them into ConvInteger, measured several "
            "times slower than fp32 (a recipe with mode: dynamic measures it)"
        )
    if device != "cuda":
        skipped[FP16] = (
            "the target is CPU, where most onnxruntime kernels have no fp16 version: fp16 halves the file, not the "
            "latency (a recipe with mode: fp16 measures it)"
        )
    return skipped


def _cpu_note(machine: Hardware, fast_int8: bool | None) -> str:
    arm = machine.hardware_class.startswith("cpu-arm") or "asimd" in machine.cpu_flags
    if fast_int8:
        feature = DOT_PRODUCT_CLASSES.get(machine.hardware_class, "int8 dot-product instructions")
        return f"{feature}: int8 convolutions and matmuls are fast here; int8 candidates are measured first"
    if fast_int8 is False:
        missing = "the Arm dot-product extension" if arm else "VNNI/AMX"
        return (
            f"no int8 dot-product instructions ({missing}) on this CPU: int8 convolutions are usually slower than "
            "fp32 here; static int8 candidates are measured last"
        )
    return "this CPU's int8 instructions are unknown (no CPU flags): candidates are measured in the default order"


def decide(machine: Hardware, device: str, ops: OpMix) -> Preflight:
    """The pre-flight for a graph with ``ops`` on ``machine``, for a ``device`` ("cpu" or "cuda") target."""
    fast_int8 = int8_dot_product(machine)
    notes = []
    if device == "cuda":
        notes.append(
            "CUDA target: fp16 first (tensor cores), then the fp32 graph; int8 QDQ candidates last (onnxruntime's "
            "CUDA provider runs their convolutions and matmuls in float)"
        )
        order = [FP16, FP32, STATIC_FLOAT_STEM, STATIC, DYNAMIC]
    else:
        notes.append(_cpu_note(machine, fast_int8))
        if fast_int8:
            order = [STATIC, STATIC_FLOAT_STEM, DYNAMIC, FP32]
        elif fast_int8 is False:
            order = [FP32, DYNAMIC, STATIC_FLOAT_STEM, STATIC]
        else:  # what auto measured before the pre-flight
            order = [FP32, STATIC, STATIC_FLOAT_STEM, DYNAMIC]
    flagged = hardware.has_int8_dot_product(machine.cpu_flags)
    if device != "cuda" and flagged is not None and flagged != fast_int8:
        features = ", ".join(hardware.int8_features(machine.cpu_flags)) or "none of note"
        notes.append(
            f"the worker offers class {machine.hardware_class}, but this CPU's flags ({features}) say otherwise: "
            "candidates are ordered for the class"
        )
    skipped = _skipped(device, ops)
    if not (ops.conv and ops.image_stem):
        order.remove(STATIC_FLOAT_STEM)
    if ops.transformer:
        notes.append(
            "transformer graph: each candidate is also measured on the graph fused by onnxruntime's transformers "
            "optimizer (attention, layer normalization, Gelu fusions)"
        )
        order = [kind for plain in order for kind in (plain, FUSED_TWINS.get(plain)) if kind]
        for kind in [kind for kind in skipped if kind in FUSED_TWINS]:
            skipped[FUSED_TWINS[kind]] = f"as for {KIND_NAMES[kind]}: {skipped[kind]}"
    return Preflight(machine.hardware_class, notes, [kind for kind in order if kind not in skipped], skipped)
