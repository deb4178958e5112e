"""Building one weight-only model with onnxruntime's MatMulNBits quantizer, and the combinations ``auto`` tries."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from app.core.schemas.recipe import WeightOnlyPass
from worker.engine import modelio
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.graph import repair
from worker.engine.passes.weight_only import graph

GATHER_OPSET = 21  # GatherBlockQuantized's int4 tables need opset 21 (and IR 10)
CALIBRATION_BATCH = 8
BLOCK_SIZES = (32, 64, 128)


@dataclass
class Prepared:
    """The input rewritten for the quantizer (Gemm -> MatMul, folded transposes) and what it holds."""

    path: Path
    layers: graph.Layers
    notes: list[str]


@dataclass
class Built:
    name: str
    path: Path
    options: WeightOnlyPass
    quantized: dict[str, str]  # node -> MatMulNBits | GatherBlockQuantized
    kept_in_float: dict[str, str]  # node -> why


def prepare(ctx: PassContext, source: Path) -> Prepared:
    """Rewrite ``source`` so every constant-weight layer is a MatMul the quantizer takes."""
    model = modelio.load(source)
    notes = []
    gemms = graph.gemms_to_matmuls(model)
    if gemms:
        notes.append(f"rewrote {gemms} Gemm layer(s) with constant weights as MatMul (+ Add) for MatMulNBits")
    folded = graph.fold_weight_transposes(model)
    if folded:
        notes.append(f"stored {folded} transposed weight(s) (a tied head reads the embedding table) as constants")
    path = ctx.scratch("weight-only-prepared") / "model.onnx"
    modelio.save(model, path)
    return Prepared(path, graph.layers(model), notes)


class _Calibration:
    """GPTQ's calibration reader over the calibration split (copied by the quantizer, so a plain iterable)."""

    def __init__(self, ctx: PassContext) -> None:
        self.feeds = [feed for _, feed in ctx.dataset.batches(ctx.split.calibration[:128], CALIBRATION_BATCH)]
        self._index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._index >= len(self.feeds):
            return None
        self._index += 1
        return self.feeds[self._index - 1]

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        return iter(self.feeds)

    def rewind(self) -> None:
        self._index = 0


def _algo_config(ctx: PassContext, options: WeightOnlyPass, embeddings: bool) -> Any:
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    ops = ("MatMul", "Gather") if embeddings else ("MatMul",)
    if options.algorithm == "hqq":
        return nbits.HQQWeightOnlyQuantConfig(block_size=options.block_size, bits=4, op_types_to_quantize=ops)
    if options.algorithm == "gptq":
        # the quantizer's block_size is the group size; GPTQ's own is its update block (left at 128)
        return nbits.GPTQWeightOnlyQuantConfig(calibration_data_reader=_Calibration(ctx), op_types_to_quantize=ops)
    # onnxruntime's own blockwise round-to-nearest: 4 and 8 bits, embeddings, accuracy level (its RTN config
    # is the neural-compressor port: 4 bits only, no Gather)
    return nbits.DefaultWeightOnlyQuantConfig(
        block_size=options.block_size,
        is_symmetric=options.symmetric,
        accuracy_level=options.accuracy_level,
        op_types_to_quantize=ops,
        bits=options.bits,
    )


def name_of(options: WeightOnlyPass) -> str:
    return f"int{options.bits}-{options.algorithm}-block{options.block_size}-level{options.accuracy_level}"


def build(ctx: PassContext, prepared: Prepared, options: WeightOnlyPass) -> Built:
    """One weight-only model of ``prepared`` with ``options``; EngineError when the quantizer fails."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    layers = prepared.layers
    kept: dict[str, str] = {}
    exclude: list[str] = []
    if layers.lm_head and not options.quantize_lm_head:
        exclude.append(layers.lm_head)
        kept[layers.lm_head] = "the head (quantize_lm_head is off)"
    for node, (rows, _) in layers.matmuls.items():
        if rows < options.block_size and node not in kept:
            kept[node] = f"input width {rows} is under the block size {options.block_size}"
            exclude.append(node)
    embeddings = options.quantize_embeddings and options.bits == 4 and options.algorithm == "rtn"
    for node in layers.embeddings:
        if not embeddings:
            kept[node] = "embedding table (quantize_embeddings is off, or not at these options)"
    model = modelio.load(prepared.path)
    if embeddings:
        model, _ = repair.ensure_opset(model, GATHER_OPSET)
    quantizer = MatMulNBitsQuantizer(
        model,
        bits=options.bits,
        block_size=options.block_size,
        is_symmetric=options.symmetric,
        accuracy_level=options.accuracy_level,
        nodes_to_exclude=exclude,
        algo_config=_algo_config(ctx, options, embeddings),
    )
    quiet = logging.getLogger("onnxruntime.quantization")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it logs every node it skips at INFO and warns of the opset it raises
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # GPTQ prints a progress bar
            quantizer.process()
    except Exception as exc:  # noqa: BLE001 - the quantizers raise many types; the user gets one error
        raise EngineError(
            "quantization_failed", f"weight-only {name_of(options)} failed: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        quiet.setLevel(level)
    result: onnx.ModelProto = quantizer.model.model
    path = ctx.scratch(f"weight-only-{name_of(options)}") / "model.onnx"
    modelio.save(result, path)
    quantized = graph.quantized_nodes(result)
    if not quantized:
        raise EngineError(
            "nothing_to_quantize",
            "the model has no MatMul (or Gemm) with a constant 2-D weight at least one block wide for weight-only "
            "quantization",
        )
    return Built(name_of(options), path, options, quantized, kept)


def auto_options(prepared: Prepared, config: WeightOnlyPass, device: str) -> list[WeightOnlyPass]:
    """The combinations ``auto`` measures: bits 4 and 8 × block sizes no wider than the widest weight ×
    accuracy levels (1 and 4 on cpu: 0 computes as 1 there; 0 on cuda, which ignores it); hqq and gptq are
    4-bit only."""
    widest = max((rows for rows, _ in prepared.layers.matmuls.values()), default=0)
    blocks = [b for b in BLOCK_SIZES if b <= widest] or [BLOCK_SIZES[0]]
    levels = [1, 4] if device == "cpu" else [0]
    bits = [4] if config.algorithm != "rtn" else [4, 8]
    return [
        config.model_copy(update={"mode": "options", "bits": b, "block_size": size, "accuracy_level": level})
        for b in bits
        for size in blocks
        for level in levels
    ]
