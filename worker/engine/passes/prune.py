"""The ``prune`` pass: structured channel pruning that shrinks the graph, or unstructured magnitude pruning.

Structured: whole attention heads are removed on the ONNX graph first (worker/engine/lift/heads.py),
then the ONNX graph is lifted to ``torch.nn`` (worker/engine/lift), Torch-Pruning's dependency
graph removes output channels/neurons together with everything coupled to them (batch norm, residual
additions, the next layer's inputs), optional recovery fine-tuning runs on the calibration split, and
the module is exported back to ONNX with the same input/output names and dynamic batch axis.

Unstructured: the smallest weights of Conv/Gemm/MatMul initializers are set to zero in the ONNX file
itself; optional fine-tuning (lifted, with the zeros held by masks) writes trained weights back.

Either way the summary measures this step's effect (size, parameters, MACs, latency, quality) on the
pass's input and output, and a result that breaks the quality limit says so (goal_met false).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from app.core.schemas.recipe import PrunePass
from worker.engine import evaluate, modelio
from worker.engine.context import LATENCY_BUDGET_S, PassContext, PassResult
from worker.engine.errors import EngineError
from worker.engine.passes import sparsify
from worker.engine.verdict import Quality


def _excluded(order: list[str], config: PrunePass) -> dict[str, str]:
    """Node name -> why the recipe keeps it whole."""
    reasons = {name: "listed in nodes_to_exclude" for name in order if name in set(config.nodes_to_exclude)}
    if config.exclude_first_last and order:
        reasons.setdefault(order[0], "first weight layer (exclude_first_last)")
        reasons.setdefault(order[-1], "last weight layer (exclude_first_last)")
    return reasons


def _channels(layer: Any) -> int:
    return int(getattr(layer, "out_channels", 0) or getattr(layer, "out_features", 0))


def _example_batch(model: onnx.ModelProto) -> int:
    """2 for a dynamic batch axis (export keeps it symbolic), else the model's fixed batch size."""
    fixed = {spec.shape[0] for spec in modelio.input_specs(model) if spec.shape and isinstance(spec.shape[0], int)}
    return fixed.pop() if len(fixed) == 1 else 2


def _reference(ctx: PassContext, source: Path, names: list[str], examples: tuple[Any, ...]) -> list[np.ndarray]:
    """onnxruntime's outputs for ``examples`` (what the lifted module must reproduce)."""
    feed = {name: example.numpy() for name, example in zip(names, examples, strict=True)}
    return [np.asarray(o) for o in ctx.session(source).run(None, feed)]


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
    from worker.engine.lift import heads

    details: dict[str, Any] = {"attention_heads": [], "refused": [], "channels_before": {}}
    try:
        plan = heads.plan(original, feed)
    except Exception as exc:  # noqa: BLE001 - the shape probe runs the model; any failure skips heads only
        notes.append(f"attention heads were not analysed: {str(exc).strip().splitlines()[0][:200]}")
        return None, details
    excluded = _excluded(plan.layers, config)
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


def _structured(ctx: PassContext, config: PrunePass, source: Path) -> tuple[Path, dict[str, Any], list[str]]:
    import torch
    import torch_pruning as tp

    from worker.engine import finetune, lift

    original = modelio.load(source)
    names = [spec.name for spec in modelio.input_specs(original)]
    examples = finetune.example_inputs(ctx, names, _example_batch(original))
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
    for node, reason in _excluded([student.layer_nodes[k] for k in order], config).items():
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
    lift.verify(student, examples, _reference(ctx, working_path, names, examples), student.output_names)
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


def _unstructured(ctx: PassContext, config: PrunePass, source: Path) -> tuple[Path, dict[str, Any], list[str]]:
    model = modelio.load(source)
    tensors = sparsify.weight_tensors(model)
    notes: list[str] = []
    excluded = _excluded([t.nodes[0] for t in tensors], config)
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
    examples = finetune.example_inputs(ctx, student.input_names, _example_batch(model))
    reference_model = ctx.scratch("prune-reference") / "model.onnx"
    modelio.save(model, reference_model)
    lift.verify(
        student, examples, _reference(ctx, reference_model, student.input_names, examples), student.output_names
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


def _quality_row(quality: Quality) -> dict[str, Any]:
    return {"accuracy": quality.accuracy, "fidelity": quality.fidelity, "decided_by": quality.decided_by}


def run(ctx: PassContext, config: PrunePass, source: Path) -> PassResult:
    """Prune ``source`` as ``config`` says; measure the step's effect; flag a broken quality limit."""
    reporter = ctx.reporter
    reporter.update(0.02)
    if config.method == "structured":
        out, details, notes = _structured(ctx, config, source)
    else:
        out, details, notes = _unstructured(ctx, config, source)
    reporter.update(0.85)
    input_session, output_session = ctx.session(source), ctx.session(out)
    input_quality = ctx.assess(source, input_session)
    output_quality = ctx.assess(out, output_session)
    timings = evaluate.measure_latency(
        {"input": input_session, "output": output_session},
        ctx.latency_feed(),
        ctx.latency_batch,
        budget_s=LATENCY_BUDGET_S,
    )
    before, after = ctx.model_facts(source), ctx.model_facts(out)
    before.update(latency_ms_p50=timings["input"].p50_ms, **_quality_row(input_quality))
    after.update(latency_ms_p50=timings["output"].p50_ms, **_quality_row(output_quality))
    ok, why = ctx.within_limit(output_quality)
    speedup = timings.speedup("input", "output")
    warnings: list[str] = []
    if not ok:
        warnings.append(f"prune ({config.method}, sparsity {config.sparsity}) breaks the quality limit: {why}")
    slower = speedup.measurably_slower  # the whole 95 % interval below 1, not one noisy median
    if details.pop("nothing_pruned", False):
        warnings.append(
            "structured pruning removed no channels: every weight layer is kept whole (see not_pruned)"
            + ("" if config.finetune else "; the input is returned unchanged")
        )
    if config.method == "unstructured":
        sizes = details["compressed_size_bytes"]
        warnings.append(
            "unstructured sparsity gives no speedup on dense runtimes (onnxruntime multiplies the zeros "
            f"too); its gain is the compressed size: {sizes['input']} -> {sizes['output']} bytes deflated"
        )
    elif slower:
        warnings.append(
            f"the pruned model measured slower than its input ({timings['output'].p50_ms:.3f} ms vs "
            f"{timings['input'].p50_ms:.3f} ms p50, {speedup.text()})"
        )
    if details.get("fixed_input_axes"):
        warnings.append("the pruned model accepts fewer input shapes: " + "; ".join(details["fixed_input_axes"]))
    summary = {
        "type": "prune",
        "method": config.method,
        "sparsity": config.sparsity,
        "scope": config.scope,
        "importance": config.importance,
        "input": before,
        "output": after,
        "speedup": speedup.value,
        "speedup_interval": [speedup.low, speedup.high],
        "parameter_ratio": after["parameter_count"] / max(1, before["parameter_count"]),
        "macs_ratio": after["macs"] / before["macs"] if before["macs"] else None,
        "size_ratio": after["size_bytes"] / max(1, before["size_bytes"]),
        "within_limit": ok,
        "quality": why,
        "notes": notes,
        **details,
    }
    goal_met = ok and (config.method == "unstructured" or not slower)
    return PassResult(out, summary, warnings, goal_met=goal_met)
