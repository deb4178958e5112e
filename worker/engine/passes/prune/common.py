"""What the ways of pruning share: the layers the recipe keeps whole, and the batch a lifted module is
checked on against onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx

from app.core.schemas.recipe import PrunePass
from worker.engine import modelio
from worker.engine.context import PassContext


def kept_whole(order: list[str], config: PrunePass) -> dict[str, str]:
    """Node name -> why the recipe keeps it whole."""
    reasons = {name: "listed in nodes_to_exclude" for name in order if name in set(config.nodes_to_exclude)}
    if config.exclude_first_last and order:
        reasons.setdefault(order[0], "first weight layer (exclude_first_last)")
        reasons.setdefault(order[-1], "last weight layer (exclude_first_last)")
    return reasons


def example_batch(model: onnx.ModelProto) -> int:
    """2 for a dynamic batch axis (export keeps it symbolic), else the model's fixed batch size."""
    fixed = {spec.shape[0] for spec in modelio.input_specs(model) if spec.shape and isinstance(spec.shape[0], int)}
    return fixed.pop() if len(fixed) == 1 else 2


def reference_outputs(ctx: PassContext, source: Path, names: list[str], examples: tuple[Any, ...]) -> list[np.ndarray]:
    """onnxruntime's outputs for ``examples`` (what the lifted module must reproduce)."""
    feed = {name: example.numpy() for name, example in zip(names, examples, strict=True)}
    return [np.asarray(o) for o in ctx.session(source).run(None, feed)]
