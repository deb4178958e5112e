"""Structured pruning: whole attention heads on the ONNX graph, then channels and neurons of the lifted module.

Whole attention heads are removed on the ONNX graph first (``heads``), then the ONNX graph is lifted to
``torch.nn`` (worker/engine/lift), Torch-Pruning's dependency graph removes output channels/neurons
together with everything coupled to them (batch norm, residual additions, the next layer's inputs),
optional recovery fine-tuning runs on the calibration split, and the module is exported back to ONNX
with the same input/output names and dynamic batch axis. torch is imported inside the functions.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from app.core.schemas.recipe import PrunePass
from worker.engine import modelio
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.passes.prune.common import example_batch, kept_whole, reference_outputs


def _channels(layer: Any) -> int:
    return int(getattr(layer, "out_channels", 0) or getattr(layer, "out_features", 0))


def _importance(ctx: PassContext, config: PrunePass, model: Any, names: list[str], notes: list[str]) -> Any:
    import torch_pruning as tp

    from worker.engine import finetune

    if config.importance == "taylor":
        try:
            source = finetune.accumulate_gradients(ctx, model, names)
            notes.append(f"Taylor importance from gradients on calibration batches using {source}")
            return tp.importance.TaylorImportance()
        except ValueError as exc:
            notes.append(f"Taylor importance unavailable ({exc}); used L2 magnitude")
    return tp.importance.MagnitudeImportance(p=1 if config.importance == "l1" else 2)


def _taylor_saliency(
    ctx: PassContext, model: onnx.ModelProto, names: list[str], notes: list[str]
) -> dict[str, np.ndarray] | None:
    """|weight x gradient| of every lifted weight, in its ONNX initializer's layout (None: no gradients)."""
    from worker.engine import finetune, lift

    module = lift.lift(copy.deepcopy(model)).module
    try:
        with finetune.torch_threads(ctx.threads):
            source = finetune.accumulate_gradients(ctx, module, names)
    except ValueError as exc:
        notes.append(f"attention heads ranked by L2 magnitude: Taylor importance unavailable ({exc})")
        return None
    saliency = {}
    for name, where in module.sources.items():
        param = getattr(module.layers[where.module_key], where.attribute)
        if param.grad is not None:
            value = (param.detach() * param.grad).abs().numpy()
            saliency[name] = value.T if where.transposed else value
    notes.append(f"attention heads ranked by Taylor importance (|weight x gradient|) using {source}")
    return saliency


def _prune_heads(
    ctx: PassContext, config: PrunePass, original: onnx.ModelProto, feed: dict[str, np.ndarray], notes: list[str]
) -> tuple[onnx.ModelProto | None, dict[str, Any]]:
    """Remove whole attention heads on the ONNX graph: (the smaller model or None, what was done and not)."""
    from worker.engine.passes.prune import heads

    details: dict[str, Any] = {"attention_heads": [], "refused": [], "channels_before": {}}
    try:
        plan = heads.plan(original, feed)
    except Exception as exc:  # noqa: BLE001 - the shape probe runs the model; any failure skips heads only
        notes.append(f"attention heads were not analysed: {str(exc).strip().splitlines()[0][:200]}")
        return None, details
    excluded = kept_whole(plan.layers, config)
    shared = heads.shared_weights(plan) if plan.trace else set()
    power = 1 if config.importance == "l1" else 2
    taylor = config.importance == "taylor" and plan.groups
    saliency = _taylor_saliency(ctx, original, list(feed), notes) if taylor else None
    chosen = []
    details["refused"] = list(plan.refused)
    for group in plan.groups:
        whole = [n for n in group.producers if n in excluded]
        if whole or shared & {*group.producers, *group.consumers}:
            why = f"{whole[0]!r} is kept whole ({excluded[whole[0]]})" if whole else "its weights are shared"
            details["refused"].append({"nodes": group.producers, "reason": why})
            continue
        assert plan.trace is not None
        keep = max(1, round(group.heads * (1 - config.sparsity)))
        score = heads.head_importance(plan.trace.g, plan.trace, group, power, saliency)
        group.kept = sorted(int(h) for h in np.argsort(-score, kind="stable")[:keep])
        chosen.append(group)
        details["attention_heads"].append(
            {
                "nodes": group.producers,
                "readers": group.consumers,
                "heads_before": group.heads,
                "heads_after": keep,
                "head_dim": group.head_dim,
                "kept_heads": group.kept,
            }
        )
    plan.groups = chosen
    if not any(len(group.kept) < group.heads for group in chosen):
        return None, details
    pruned, zeroed = heads.apply(original, plan), heads.apply(original, plan, zero_only=True)
    paths = [modelio.save(m, ctx.scratch(stem) / "model.onnx") for m, stem in ((pruned, "heads"), (zeroed, "zeroed"))]
    try:
        got, want = (ctx.session(path).run(None, feed) for path in paths)
    except Exception as exc:  # noqa: BLE001 - a rewrite the runtime rejects: keep the heads, say why
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        details["refused"] += [
            {"nodes": g.producers, "reason": f"the head rewrite does not run: {first}"} for g in chosen
        ]
        details["attention_heads"] = []
        notes.append("attention heads kept: the graph with fewer heads did not run in onnxruntime")
        return None, details
    for name, a, b in zip([o.name for o in pruned.graph.output], got, want, strict=True):
        scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
        if np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=1e-3, atol=1e-4 * scale):
            details["refused"] += [
                {"nodes": g.producers, "reason": "the head rewrite did not check out"} for g in chosen
            ]
            details["attention_heads"] = []
            notes.append(f"attention heads kept: removing them changed output {name!r} beyond zeroing those heads")
            return None, details
    for group in chosen:
        for layer in group.producers:
            details["channels_before"][layer] = heads.out_channels(plan.trace.g, layer) if plan.trace else 0
    notes.append(f"removed attention heads in {len(chosen)} attention block(s); see attention_heads")
    return pruned, details


def prune_structured(ctx: PassContext, config: PrunePass, source: Path) -> tuple[Path, dict[str, Any], list[str]]:
    """Prune heads, then channels, of ``source``: (the pruned model, the summary's details, notes)."""
    import torch
    import torch_pruning as tp

    from worker.engine import finetune, lift

    original = modelio.load(source)
    names = [spec.name for spec in modelio.input_specs(original)]
    examples = finetune.example_inputs(ctx, names, example_batch(original))
    notes: list[str] = []
    head_model: onnx.ModelProto | None = None
    heads_done: dict[str, Any] = {"attention_heads": [], "refused": [], "channels_before": {}}
    if config.attention_heads:
        feed = {name: example.numpy() for name, example in zip(names, examples, strict=True)}
        head_model, heads_done = _prune_heads(ctx, config, original, feed, notes)
    teacher = None
    if config.finetune and head_model is not None:  # distil from the model as it was, heads and all
        teacher = lift.lift(copy.deepcopy(original)).module
    working, working_path = (head_model, ctx.scratch("heads-lift") / "model.onnx") if head_model else (original, source)
    if head_model is not None:
        modelio.save(head_model, working_path)
    lifted = lift.lift(copy.deepcopy(working))
    student = lifted.module
    notes = list(lifted.notes) + notes
    order = list(lifted.layer_ops)
    by_node = {student.layer_nodes[key]: key for key in order}
    headed = {by_node[node]: count for node, count in heads_done["channels_before"].items() if node in by_node}
    not_pruned = {key: reason for key, reason in lifted.blocked.items() if key not in headed}
    for node, reason in kept_whole([student.layer_nodes[k] for k in order], config).items():
        not_pruned.setdefault(by_node[node], reason)
    for refusal in heads_done["refused"]:
        for node in refusal["nodes"]:
            if node in by_node:
                before_reason = not_pruned.get(by_node[node])
                why = f"attention heads kept whole: {refusal['reason']}"
                not_pruned[by_node[node]] = f"{before_reason}; {why}" if before_reason else why
    unknown = set(config.nodes_to_exclude) - set(by_node)
    if unknown:
        notes.append(f"nodes_to_exclude names no weight layer: {', '.join(sorted(unknown))}")
    if config.finetune and teacher is None:
        teacher = copy.deepcopy(student)
    lift.verify(student, examples, reference_outputs(ctx, working_path, names, examples), student.output_names)
    before = {key: headed.get(key, _channels(student.layers[key])) for key in order}
    ignored = [student.layers[key] for key in {*not_pruned, *headed}]  # heads done: channels stay as they are
    ctx.reporter.update(0.1)
    with finetune.torch_threads(ctx.threads):
        importance = _importance(ctx, config, student, names, notes)
        try:
            pruner = tp.pruner.MetaPruner(
                student,
                examples,
                importance=importance,
                global_pruning=config.scope == "global",
                pruning_ratio=config.sparsity,
                max_pruning_ratio=0.95,  # global ranking never empties a layer
                ignored_layers=ignored,
            )
            pruner.step()
            student.zero_grad(set_to_none=True)
            with torch.no_grad():
                student(*examples)
        except Exception as exc:  # noqa: BLE001 - Torch-Pruning raises many types on graphs it cannot follow
            raise EngineError("pruning_failed", f"structured pruning failed on this graph: {exc}") from None
    ctx.reporter.update(0.3)
    layers = [
        {
            "node": student.layer_nodes[key],
            "op": lifted.layer_ops[key],
            "channels_before": before[key],
            "channels_after": _channels(student.layers[key]),
        }
        for key in order
    ]
    for key in order:  # Torch-Pruning skips whole groups that contain a layer kept whole
        if key not in not_pruned and _channels(student.layers[key]) == before[key]:
            not_pruned[key] = (
                "the global ranking kept all its channels, or it shares them with a layer kept whole"
                if config.scope == "global"
                else "shares its output channels with a layer kept whole (e.g. through a residual addition)"
            )
    details: dict[str, Any] = {
        "layers": layers,
        "attention_heads": heads_done["attention_heads"],
        "not_pruned": [{"node": student.layer_nodes[k], "reason": r} for k, r in not_pruned.items()],
        "finetune": None,
    }
    if all(_channels(student.layers[key]) == before[key] for key in order):
        details["nothing_pruned"] = True
        if not config.finetune:  # nothing changed: hand the input on rather than a re-exported copy
            return source, details, notes
    if config.finetune:
        details["finetune"] = finetune.train(ctx, student, teacher, config.finetune, names, progress=(0.3, 0.8))
    out = ctx.scratch("prune") / "model.onnx"
    lift.export_onnx(student, original, examples, out)
    details["fixed_input_axes"] = lift.fixed_dims(original, out)
    return out, details, notes
