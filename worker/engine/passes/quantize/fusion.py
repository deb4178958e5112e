"""Transformer graph fusion as candidates of ``quantize auto``: the graph fused by onnxruntime's transformers
optimizer (Attention, SkipLayerNormalization, BiasGelu/FastGelu, EmbedLayerNormalization), alone and with the
other candidates' quantizers (or fp16) applied to it.

How the graph is fused, and why:

- ``opt_level=1``: onnxruntime's basic optimizations (constant folding, redundant nodes), which do not depend
  on the execution provider, then the optimizer's Python fusions. No level 2 offline: the job's sessions apply
  the provider's own level-2 fusions when they load the file, and a level-2 file would carry ops of one
  provider only. ``use_gpu`` only for a cuda target.
- The raw attention mask (``AttentionMask``), not the optimizer's default for BERT (``MaskIndexEnd``, which
  reduces the mask to a length per row): measured here, that default is exact for right padding only and off
  by up to 0.25 on left-padded rows; the raw mask is exact for any padding.
- The fused graph must keep the input's dynamic axes (worker/engine/shapes.py): where the optimizer fixed one,
  the fused candidates fail with that reason, before anything is quantized.

The fused graph is built once per pass run (``Fusion``) and shared by the fused candidates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from app.core.schemas.recipe import QuantizePass
from worker.engine import modelio, shapes
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.passes.quantize.candidates import Candidate, first_line
from worker.engine.passes.quantize.transformer import Transformer

OPT_LEVEL = 1
Builder = Callable[[PassContext, Path, QuantizePass], Candidate]


@dataclass(frozen=True)
class Fused:
    """A fused graph and what the optimizer made of it."""

    path: Path
    transformer: Transformer
    fused_ops: dict[str, int]  # fused operator -> how many the graph gained (get_fused_operator_statistics)

    def note(self) -> str:
        fused = ", ".join(f"{op} x{count}" for op, count in self.fused_ops.items())
        t = self.transformer
        return f"onnxruntime transformers optimizer, model_type {t.model_type}: fused {fused} ({t.decided_by})"

    def describe(self) -> dict[str, Any]:
        return {**self.transformer.describe(), "fused_ops": self.fused_ops, "opt_level": OPT_LEVEL}


def fuse(source: Path, out: Path, transformer: Transformer, *, use_gpu: bool) -> Fused:
    """Fuse ``source`` with onnxruntime's transformers optimizer into ``out``; EngineError when the optimizer
    fails, fuses nothing, or fixes a dynamic axis."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions(transformer.model_type)
    options.use_raw_attention_mask(True)
    original = onnx.load(str(source), load_external_data=False)  # its op counts only
    try:
        optimizer = optimize_model(
            str(source),
            model_type=transformer.model_type,
            num_heads=transformer.num_heads,
            hidden_size=transformer.hidden_size,
            optimization_options=options,
            opt_level=OPT_LEVEL,
            use_gpu=use_gpu,
        )
        statistics = optimizer.get_fused_operator_statistics()
    except Exception as exc:  # noqa: BLE001 - the optimizer raises many types on graphs it does not expect
        raise EngineError(
            "quantization_failed",
            f"onnxruntime's transformers optimizer (model_type {transformer.model_type}) failed on this graph: "
            f"{type(exc).__name__}: {first_line(exc)}",
        ) from None
    fused_model = optimizer.model
    before, after = Counter(n.op_type for n in original.graph.node), Counter(n.op_type for n in fused_model.graph.node)
    gained = {op: after[op] - before[op] for op, count in statistics.items() if count and after[op] > before[op]}
    if not gained:
        raise EngineError(
            "quantization_failed",
            f"onnxruntime's transformers optimizer (model_type {transformer.model_type}) fused nothing in this graph",
        )
    modelio.save(fused_model, out)
    shapes.require_dynamic(source, out, "onnxruntime's transformers optimizer")
    return Fused(out, transformer, gained)


def fp32(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
    """The fused graph as it is (the builder ``Fusion.wrap`` gives the fused graph as ``source``)."""
    return Candidate("fp32", source, [], {})


class Fusion:
    """The fused graph of one pass run, built on first use, and the fused candidates built on it."""

    def __init__(self, transformer: Transformer) -> None:
        self.transformer = transformer
        self._fused: dict[Path, Fused | EngineError] = {}

    def graph(self, ctx: PassContext, source: Path) -> Fused:
        """``source`` fused, once: a failure is raised with its reason the first time, then by reference."""
        if source in self._fused:
            known = self._fused[source]
            if isinstance(known, EngineError):
                raise EngineError(known.code, "no fused graph (the first fused candidate's failure says why)")
            return known
        try:
            out = ctx.scratch("fused") / "model.onnx"
            fused = fuse(source, out, self.transformer, use_gpu=ctx.target.device == "cuda")
        except EngineError as exc:
            self._fused[source] = exc
            raise
        self._fused[source] = fused
        return fused

    def wrap(self, builder: Builder) -> Builder:
        """``builder`` applied to the fused graph: a candidate named "fused + ...", whose notes and ``fusion``
        say what fused (``selection.measure`` checks its dynamic axes against the input, like every candidate's)."""

        def build(ctx: PassContext, source: Path, config: QuantizePass) -> Candidate:
            fused = self.graph(ctx, source)
            inner = builder(ctx, fused.path, config)
            name = "fused fp32" if builder is fp32 else f"fused + {inner.name}"
            return Candidate(name, inner.path, [fused.note(), *inner.notes], inner.kept_in_float, fused.describe())

        return build
