"""Unstructured pruning: the smallest weights of Conv/Gemm/MatMul initializers set to zero in the ONNX file
itself; optional fine-tuning (lifted, with the zeros held by masks) writes trained weights back."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from app.core.schemas.recipe import PrunePass
from worker.engine import modelio
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.passes.prune import sparsify
from worker.engine.passes.prune.common import example_batch, kept_whole, reference_outputs


def prune_unstructured(ctx: PassContext, config: PrunePass, source: Path) -> tuple[Path, dict[str, Any], list[str]]:
    """Zero the smallest weights of ``source``: (the pruned model, the summary's details, notes)."""
    model = modelio.load(source)
    tensors = sparsify.weight_tensors(model)
    notes: list[str] = []
    excluded = kept_whole([t.nodes[0] for t in tensors], config)
    chosen = [t for t in tensors if not any(n in excluded for n in t.nodes)]
    if config.importance == "taylor":
        notes.append("unstructured pruning ranks weights by magnitude; importance 'taylor' applies to structured")
    inits = {i.name: i for i in model.graph.initializer}
    arrays = {t.initializer: numpy_helper.to_array(inits[t.initializer]) for t in chosen}
    masks = sparsify.masks_for(arrays, config.sparsity, config.scope)
    finetuned = None
    if config.finetune:
        model, finetuned = _finetune_masked(ctx, config, source, model, masks, notes)
    rows = sparsify.apply(model, masks)
    by_init = {t.initializer: t for t in chosen}
    layers = [{"node": by_init[r["initializer"]].nodes[0], "op": by_init[r["initializer"]].op_type, **r} for r in rows]
    out = modelio.save(model, ctx.scratch("prune") / "model.onnx")
    details = {
        "layers": layers,
        "not_pruned": [{"node": n, "reason": r} for n, r in excluded.items()],
        "finetune": finetuned,
        "compressed_size_bytes": {"input": sparsify.deflate_size(source), "output": sparsify.deflate_size(out)},
    }
    return out, details, notes


def _finetune_masked(
    ctx: PassContext,
    config: PrunePass,
    source: Path,
    model: onnx.ModelProto,
    masks: dict[str, np.ndarray],
    notes: list[str],
) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """Fine-tune the lifted model with the pruned weights held at zero; write the weights back."""
    import torch

    from worker.engine import finetune, lift

    assert config.finetune is not None
    try:
        lifted = lift.lift(copy.deepcopy(model))
    except EngineError as exc:
        message = exc.message.replace("structured pruning cannot lift", "fine-tuning cannot lift").replace(
            "(method: unstructured)", "without finetune"
        )
        raise EngineError(exc.code, message) from None
    student = lifted.module
    examples = finetune.example_inputs(ctx, student.input_names, example_batch(model))
    reference_model = ctx.scratch("prune-reference") / "model.onnx"
    modelio.save(model, reference_model)
    lift.verify(
        student, examples, reference_outputs(ctx, reference_model, student.input_names, examples), student.output_names
    )
    teacher = copy.deepcopy(student)
    with torch.no_grad():  # start from the pruned weights
        for name, mask in masks.items():
            where = student.sources[name]
            param = getattr(student.layers[where.module_key], where.attribute)
            keep = torch.from_numpy(mask.T.copy() if where.transposed else mask.copy()).to(param.dtype)
            param.mul_(keep)
    param_masks = {}
    for name, mask in masks.items():
        where = student.sources[name]
        keep = torch.from_numpy((mask.T if where.transposed else mask).astype(np.float32).copy())
        param_masks[f"layers.{where.module_key}.{where.attribute}"] = keep
    summary = finetune.train(
        ctx, student, teacher, config.finetune, student.input_names, masks=param_masks, progress=(0.2, 0.8)
    )
    users: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    shared = []
    for init in model.graph.initializer:
        found = student.sources.get(init.name)
        if found is None:
            continue
        where = found
        if users.get(init.name, 0) > 1:
            shared.append(init.name)
            continue
        value = getattr(student.layers[where.module_key], where.attribute).detach().numpy() / where.scale
        value = value.T if where.transposed else value
        init.CopyFrom(numpy_helper.from_array(value.reshape(tuple(init.dims)).astype(np.float32), init.name))
    if shared:
        notes.append(f"weights shared by several nodes were not fine-tuned: {', '.join(shared)}")
    return model, summary
