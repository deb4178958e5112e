"""What ``quantize auto`` measures on a graph: the candidates that fit it, in the pre-flight's order.

On a transformer graph (``transformer.resolve``: detected, or named by the recipe's ``model_type``) every
candidate of the fp32, static, dynamic and fp16 kinds has a twin built on the graph fused by onnxruntime's
transformers optimizer (``fusion``), measured right after it.
"""

from __future__ import annotations

from typing import Any

import onnx

from app.core.schemas.recipe import QuantizePass
from worker.engine import preflight
from worker.engine.context import PassContext
from worker.engine.passes.quantize import fusion
from worker.engine.passes.quantize.candidates import dynamic, fp16, fp32_optimized, op_mix, static, static_float_stem
from worker.engine.passes.quantize.transformer import resolve

Step = tuple[str, Any, QuantizePass]  # (what the step builds, its builder, its options)


def auto_plan(model: onnx.ModelProto, ctx: PassContext, config: QuantizePass) -> list[Step]:
    """What ``mode: auto`` measures on this graph: (what, builder, its options), in the pre-flight's order."""
    transformer = resolve(model, config)
    ops = op_mix(model, is_transformer=transformer is not None)
    decision = preflight.decide(ctx.hardware, ctx.target.device, ops)

    def variant(mode: str, builder: Any, **changes: Any) -> Step:
        return mode, builder, config.model_copy(update={"mode": mode, **changes})

    # Per-channel scales keep accuracy; per-tensor ones are often faster: both are measured (on a graph of
    # matmuls only, static per-tensor, next to dynamic), and with an image stem both again with the stem in
    # float (int8 is often slower on so few channels).
    per_tensor = variant("static", static, per_channel=False)
    kinds: dict[str, list[Step]] = {
        preflight.FP32: [("fp32", fp32_optimized, config)],
        preflight.STATIC: [variant("static", static, per_channel=True), per_tensor] if ops.conv else [per_tensor],
        preflight.STATIC_FLOAT_STEM: [
            variant("static", static_float_stem, per_channel=True),
            variant("static", static_float_stem, per_channel=False),
        ],
        preflight.DYNAMIC: [
            variant("dynamic", dynamic, per_channel=False),
            variant("dynamic", dynamic, per_channel=True),
        ],
        preflight.FP16: [variant("fp16", fp16)],
    }
    if transformer is not None:
        fused = fusion.Fusion(transformer)
        kinds[preflight.FUSED_FP32] = [("fused fp32", fused.wrap(fusion.fp32), config)]
        for kind, twin in preflight.FUSED_TWINS.items():
            if kind != preflight.FP32:
                kinds[twin] = [(f"fused {what}", fused.wrap(build), options) for what, build, options in kinds[kind]]
    return [step for kind in decision.order for step in kinds[kind]]
