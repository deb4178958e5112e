"""The ``quantize`` pass's candidates: the graph repairs before quantizing, onnxruntime's quantizers with a
recipe's options, fp16, and the fp32 graph optimized offline (``plan.auto_plan`` lists what ``auto`` measures,
``fusion`` builds the same on a transformer's fused graph).

The tuning workbench (``workbench``) builds the same candidates trial after trial from these functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from app.core.schemas.recipe import QuantizePass
from worker.engine import hardware, modelio, preflight, rollout
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.graph import analysis, repair
from worker.engine.passes.quantize import transformer

CALIBRATION_BATCH = 8
CONV_OPS = {"Conv", "ConvTranspose"}
MATMUL_OPS = {"MatMul", "Gemm", "Attention", "MultiHeadAttention"}


@dataclass
class Candidate:
    name: str
    path: Path
    notes: list[str]
    kept_in_float: dict[str, str]
    fusion: dict[str, Any] | None = None  # for a candidate built on a transformer's fused graph: what fused


class _Calibration:
    """onnxruntime CalibrationDataReader over the calibration split (cancellable).

    For a stateful model the feeds come from a rollout of ``model`` over the calibration sequences, so
    state inputs are calibrated on the states the model really carries, not on the dataset's initial ones.
    """

    def __init__(self, ctx: PassContext, samples: int, model: Path) -> None:
        self.ctx = ctx
        self._feeds: Iterator[dict[str, np.ndarray]]
        if ctx.plan.stateful and ctx.split.calibration_sequences:
            session = ctx.session(model)
            steps = rollout.stream(
                session, ctx.dataset, ctx.split.calibration_sequences, ctx.plan.state, ctx.output_names
            )
            self._feeds = (feed for _, (feed, _outs) in zip(range(samples), steps, strict=False))
            return
        indices = ctx.split.calibration[:samples]
        if len(indices) > CALIBRATION_BATCH:  # histogram calibrators (entropy, percentile) need equal batches
            indices = indices[: len(indices) - len(indices) % CALIBRATION_BATCH]
        batches = ctx.dataset.batches(indices, CALIBRATION_BATCH)
        self._feeds = (feed for _, feed in batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        self.ctx.reporter.check()
        return next(self._feeds, None)

    def rewind(self) -> None:
        return None


def prepare(ctx: PassContext, source: Path, *, min_opset: int) -> tuple[Path, list[str], dict[str, str]]:
    """Apply the graph repairs; return the prepared model, what was done, and nodes kept in float."""
    notes: list[str] = []
    model = modelio.load(source)
    renamed = repair.unique_node_names(model)
    if renamed:
        notes.append(f"gave {renamed} node(s) unique names (duplicates or empty names)")
    folded = repair.fold_constants_to_initializers(model)
    if folded:
        notes.append(f"moved {folded} Constant node weight(s) into initializers")
    try:
        model, old = repair.ensure_opset(model, min_opset)
    except Exception as exc:  # noqa: BLE001 - the converter raises many types
        raise EngineError(
            "unsupported_model", f"cannot convert the model to opset {min_opset} for quantization: {exc}"
        ) from None
    if old is not None:
        notes.append(f"converted opset {old} -> {min_opset} (per-channel QDQ needs DequantizeLinear's axis)")
    scratch = ctx.scratch("prep")
    fixed = modelio.save(model, scratch / "fixed.onnx")
    prepared = scratch / "prepared.onnx"
    notes.extend(repair.pre_process(fixed, prepared))
    # found on the prepared graph: pre-processing fuses and renames nodes
    return prepared, notes, analysis.sensitive_nodes(modelio.load(prepared))


def reduce_range(config: QuantizePass) -> bool:
    """The recipe's ``reduce_range``, or where unset what this CPU favours (worker/engine/hardware.py)."""
    return hardware.prefers_reduced_range() if config.reduce_range is None else config.reduce_range


def _range_note(config: QuantizePass) -> list[str]:
    if config.reduce_range is None and reduce_range(config):
        return [
            "7-bit weights (reduce_range): this x86 CPU has no int8 dot-product instructions (no VNNI/AMX), "
            "where 8-bit weights can saturate int16 sums"
        ]
    return []


def _qtype(name: str) -> Any:
    from onnxruntime.quantization import QuantType

    return QuantType.QInt8 if name == "int8" else QuantType.QUInt8


def _untyped_as_float(prepared: Path) -> dict[str, Any]:
    """The quantizers' option for a graph with onnxruntime's own ops (a fused transformer's Attention, ...):
    onnx's shape inference cannot type their outputs, and the quantizers need a type for every tensor they touch."""
    model = onnx.load(str(prepared), load_external_data=False)
    contrib = any(node.domain == "com.microsoft" for node in model.graph.node)
    return {"DefaultTensorType": onnx.TensorProto.FLOAT} if contrib else {}


def quantize_dynamic_file(prepared: Path, out: Path, config: QuantizePass, exclude: list[str]) -> None:
    """onnxruntime's quantize_dynamic on a prepared model with ``config``'s options; EngineError if it fails."""
    from onnxruntime.quantization import quantize_dynamic

    try:
        quantize_dynamic(
            str(prepared),
            str(out),
            per_channel=config.per_channel,
            reduce_range=reduce_range(config),
            weight_type=_qtype(config.weight_type),
            nodes_to_exclude=exclude,
            op_types_to_quantize=config.op_types_to_quantize,
            extra_options={"MatMulConstBOnly": True, **_untyped_as_float(prepared)},
        )
    except Exception as exc:  # noqa: BLE001 - surface the quantizer's reason, not a stack trace
        raise EngineError("quantization_failed", f"dynamic quantization failed: {first_line(exc)}") from None


def quantize_static_file(
    ctx: PassContext,
    prepared: Path,
    out: Path,
    config: QuantizePass,
    exclude: list[str],
    *,
    only: list[str] | None = None,
    calibration_cache: Path | None = None,
) -> None:
    """onnxruntime's quantize_static (QDQ) on a prepared model with ``config``'s options.

    ``only`` restricts quantization to those nodes. With ``calibration_cache``, the ranges computed by
    the first call are saved there and every later call reuses them instead of calibrating again.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    calibrated = calibration_cache is not None and calibration_cache.exists()
    try:
        quantize_static(
            str(prepared),
            str(out),
            None if calibrated else _Calibration(ctx, config.calibration_samples, prepared),
            quant_format=QuantFormat.QDQ,
            per_channel=config.per_channel,
            reduce_range=reduce_range(config),
            activation_type=_qtype(config.activation_type),
            weight_type=_qtype(config.weight_type),
            nodes_to_quantize=only,
            nodes_to_exclude=exclude,
            op_types_to_quantize=config.op_types_to_quantize,
            calibrate_method={
                "minmax": CalibrationMethod.MinMax,
                "entropy": CalibrationMethod.Entropy,
                "percentile": CalibrationMethod.Percentile,
            }[config.calibration],
            extra_options={
                "ActivationSymmetric": config.symmetric_activations,
                "WeightSymmetric": config.symmetric_weights,
                "CalibPercentile": config.percentile,
                "EnableSubgraph": False,
                **_untyped_as_float(prepared),
            },
            **({"calibration_cache_path": str(calibration_cache)} if calibration_cache is not None else {}),
        )
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - surface the quantizer's reason, not a stack trace
        raise EngineError("quantization_failed", f"static quantization failed: {first_line(exc)}") from None


def dynamic(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
    """Dynamic int8 (weights quantized offline, activations at run time)."""
    prepared, notes, sensitive = prepare(ctx, source, min_opset=13 if config.per_channel else 11)
    out = ctx.scratch("dynamic") / "model.onnx"
    quantize_dynamic_file(prepared, out, config, sorted(set(config.nodes_to_exclude) | set(sensitive)))
    granularity = "per-channel" if config.per_channel else "per-tensor"
    return Candidate(f"dynamic int8 ({granularity})", out, notes + _range_note(config), sensitive)


def static(ctx: PassContext, source: Path, config: QuantizePass, *, float_stem: bool = False) -> Candidate:
    """Static int8 QDQ; ``float_stem`` also keeps the image stems (analysis.image_stems) in float."""
    prepared, notes, sensitive = prepare(ctx, source, min_opset=13)
    if float_stem:  # found on the prepared graph, like the sensitive nodes
        sensitive = {**analysis.image_stems(modelio.load(prepared)), **sensitive}
    out = ctx.scratch("static") / "model.onnx"
    quantize_static_file(ctx, prepared, out, config, sorted(set(config.nodes_to_exclude) | set(sensitive)))
    granularity = "per-channel" if config.per_channel else "per-tensor"
    stem = ", stem in float" if float_stem else ""
    name = f"static int8 QDQ ({config.calibration}, {granularity}{stem})"
    return Candidate(name, out, notes + _range_note(config), sensitive)


def static_float_stem(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
    """Static int8 QDQ with the image stems kept in float."""
    return static(ctx, source, config, float_stem=True)


def fp16(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
    """Every float32 weight and activation in float16 (``keep_io_types``: float32 inputs and outputs)."""
    from onnxconverter_common import float16

    model = modelio.load(source)
    try:
        converted = float16.convert_float_to_float16(
            model, keep_io_types=config.keep_io_types, node_block_list=list(config.nodes_to_exclude) or None
        )
    except Exception as exc:  # noqa: BLE001 - surface the converter's reason
        raise EngineError("quantization_failed", f"fp16 conversion failed: {first_line(exc)}") from None
    out = modelio.save(converted, ctx.scratch("fp16") / "model.onnx")
    notes = (
        []
        if ctx.target.device == "cuda"
        else ["fp16 is a GPU optimization: on CPU it halves the file, not the latency"]
    )
    return Candidate("fp16", out, notes, {})


def fp32_optimized(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
    """The input graph optimized offline by onnxruntime for the target (fusions, constant folding)."""
    import onnxruntime as ort

    out = ctx.scratch("fp32-opt") / "model.onnx"
    options = modelio.session_options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(out)
    try:
        ort.InferenceSession(str(source), sess_options=options, providers=modelio.providers_for(ctx.target.device))
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise EngineError("model_load_failed", f"onnxruntime cannot optimize the model: {first_line(exc)}") from None
    return Candidate("fp32 optimized offline", out, [], {})


BUILDERS = {"dynamic": dynamic, "static": static, "fp16": fp16}


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (at most 300 characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def op_mix(model: onnx.ModelProto, *, is_transformer: bool | None = None) -> preflight.OpMix:
    """What in ``model`` int8 can speed up: its convolutions, its matmuls, an image stem; and whether it is a
    transformer to fuse (``is_transformer``; None: as the graph shows, ``transformer.detect``)."""
    ops = [n.op_type for n in model.graph.node]
    conv, matmul = sum(o in CONV_OPS for o in ops), sum(o in MATMUL_OPS for o in ops)
    fuse = transformer.detect(model) is not None if is_transformer is None else is_transformer
    return preflight.OpMix(conv, matmul, bool(conv and analysis.image_stems(model)), transformer=fuse)
