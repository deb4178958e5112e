"""Attention-head pruning on the ONNX graph itself (numpy and onnxruntime, no torch).

A head is a slice of a projection's output channels: exporters split the q/k/v channel axis into
(heads, head_dim) with a Reshape, move heads to a batch axis, and merge them back before the output
projection. Removing a head therefore means removing the same head from every projection that meets
it in an attention MatMul, removing the matching input channels of the layer that reads the merged
heads, and rewriting the head count baked into constant Reshape targets. Channel pruning of the
projections alone cannot do that: its tensors would no longer fit those Reshapes.

How: ``head_trace`` follows each layer's channels through the graph as mixed-radix digits; the digits
that meet in an attention MatMul's batch axes are heads (``plan``). ``apply`` rewrites the weights and
the Reshape targets. The prune pass then checks the rewrite numerically: the pruned model must compute
what the original computes with the removed heads' inputs to the output projection zeroed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from worker.engine.lift.channels import LAYERS, is_weight_layer
from worker.engine.lift.graph import GraphIndex, index
from worker.engine.passes.prune.head_trace import (
    Axes,
    Factor,
    Piece,
    Trace,
    concrete_shapes,
    is_linear,
    opaque,
    out_channels,
    step,
)

__all__ = ["HeadGroup", "HeadPlan", "apply", "head_importance", "out_channels", "plan", "shared_weights"]


@dataclass
class HeadGroup:
    """The projections that share one set of heads, and the layers that read them merged."""

    producers: list[str]
    consumers: list[str]
    factors: list[Factor]
    heads: int
    head_dim: int
    kept: list[int] = field(default_factory=list)


@dataclass
class HeadPlan:
    groups: list[HeadGroup]
    refused: list[dict[str, Any]]  # {"nodes": [...], "reason": ...}
    trace: Trace | None = None
    layers: list[str] = field(default_factory=list)  # every weight layer (Conv/Gemm/MatMul), graph order


def plan(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> HeadPlan:
    """Find the attention head groups of ``model`` and which of them can lose heads (and why not)."""
    g = index(copy.deepcopy(model))
    layers = [n.name for n in g.model.graph.node if n.op_type in LAYERS and is_weight_layer(g, n)]
    if not any(is_linear(g, n) for n in g.model.graph.node):
        return HeadPlan([], [], None, layers)
    shapes = concrete_shapes(g.model, feed)
    trace = Trace(g, shapes)
    for node in g.model.graph.node:
        step(trace, node)
        if is_linear(g, node) and node.output[0] in shapes:
            out_shape = shapes[node.output[0]]
            axes = opaque(out_shape)
            axes[-1] = (Factor(out_channels(g, node), node.name, 1),)
            if node.output[0] in g.outputs:
                trace.failed.setdefault(node.name, f"its channels reach the model output {node.output[0]!r}")
            else:
                trace.state[node.output[0]] = axes
    groups: dict[Factor, list[Factor]] = {}
    for factor in trace.head_factors:
        groups.setdefault(trace.heads.find(factor), []).append(factor)
    result = HeadPlan([], [], trace, layers)
    for members in groups.values():
        members = sorted(set(members), key=lambda f: (f.layer or "", f.stride))
        producers = sorted({str(f.layer) for f in members})
        consumers = sorted(c for c, factors in trace.consumers.items() if set(factors) & set(members))
        reason = _refusal(trace, members, producers, consumers)
        if reason:
            result.refused.append({"nodes": producers, "reason": reason})
            continue
        result.groups.append(HeadGroup(producers, consumers, members, members[0].size, members[0].stride))
    order = {node.name: i for i, node in enumerate(g.model.graph.node)}
    result.groups.sort(key=lambda group: min(order[p] for p in group.producers))
    return result


def _refusal(trace: Trace, members: list[Factor], producers: list[str], consumers: list[str]) -> str | None:
    failed = [f"{layer}: {trace.failed[layer]}" for layer in producers if layer in trace.failed]
    if failed:
        return "; ".join(failed)
    if len({f.size for f in members}) != 1:
        return "the projections disagree on the number of heads"
    if len({f.layer for f in members}) != len(members):
        return "a projection meets the same heads along two different digits of its channels"
    if any(_overlaps(f, m) for f in trace.frozen for m in members):
        return "a head digit is also indexed or reduced elsewhere in the graph"
    for name, (axes, pieces) in trace.computed.items():
        if pieces is None and any(_overlaps(f, m) for axis in axes for f in axis for m in members):
            return f"Reshape {name!r} computes a target shape with the head count in it; it cannot be rewritten"
    if not consumers:
        return "no layer reads the merged heads (the attention output goes elsewhere)"
    head_layers = set(producers)
    for consumer in consumers:
        if any(f.layer not in head_layers or f.layer is None for f in trace.consumers[consumer]):
            return f"{consumer!r} reads the heads mixed with other values"
    if members[0].size < 2:
        return "a single head"
    return None


def _overlaps(a: Factor, b: Factor) -> bool:
    """Do two digits of one layer's channel index share any part (one was split from the other)?"""
    return a.layer == b.layer and a.stride < b.stride * b.size and b.stride < a.stride * a.size


def _resized(factor: Factor, heads: dict[Factor, int]) -> int:
    """``factor``'s size once each head digit inside it keeps ``heads[digit]`` of its values."""
    size = factor.size
    for head, kept in heads.items():
        if _overlaps(factor, head):
            size = size // head.size * kept
    return size


def _digits(factors: tuple[Factor, ...], size: int, target: Factor) -> np.ndarray:
    """For each index 0..size-1 of an axis laid out as ``factors`` (outer first), its ``target`` digit."""
    index_ = np.arange(size)
    stride = size
    for factor in factors:
        stride //= factor.size
        if factor == target:
            return np.asarray((index_ // stride) % factor.size)
    raise ValueError("digit not in this axis")


def channel_head(group: HeadGroup, layer: str, channels: int) -> np.ndarray:
    """Each output channel of projection ``layer``: its head."""
    factor = next(f for f in group.factors if f.layer == layer)
    return np.asarray((np.arange(channels) // factor.stride) % factor.size)


def input_head(group: HeadGroup, trace: Trace, consumer: str, features: int) -> np.ndarray:
    factors = trace.consumers[consumer]
    target = next(f for f in factors if f in group.factors)
    return _digits(factors, features, target)


@dataclass
class _Weight:
    name: str
    axis_out: int  # the weight's axis of output channels


def _weight(g: GraphIndex, node: onnx.NodeProto) -> _Weight:
    transposed = node.op_type == "Gemm" and int(g.attr(node, "transB", 0))
    return _Weight(node.input[1], 0 if transposed else 1)


def head_importance(
    g: GraphIndex, trace: Trace, group: HeadGroup, p: int, saliency: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Per head: the L-p norm of its weights in each projection and reader, each layer scaled to sum 1.

    ``saliency`` (initializer -> |weight x gradient| in the initializer's layout) replaces the magnitude
    where given: Taylor importance, summed over the head's weights.
    """
    nodes = {n.name: n for n in g.model.graph.node}
    total = np.zeros(group.heads)
    for layer in group.producers + group.consumers:
        weight = _weight(g, nodes[layer])
        if saliency is not None and weight.name in saliency:
            array, p = np.asarray(saliency[weight.name], dtype=np.float64), 1
        else:
            array = np.abs(np.asarray(g.constants[weight.name], dtype=np.float64)) ** p
        if layer in group.producers:
            heads = channel_head(group, layer, array.shape[weight.axis_out])
            per_channel = array.sum(axis=1 - weight.axis_out)
        else:
            heads = input_head(group, trace, layer, array.shape[1 - weight.axis_out])
            per_channel = array.sum(axis=weight.axis_out)
        norms = np.array([per_channel[heads == h].sum() for h in range(group.heads)]) ** (1 / p)
        total += norms / max(norms.sum(), 1e-12)
    return total


def _set(model: onnx.ModelProto, name: str, value: np.ndarray) -> None:
    for init in model.graph.initializer:
        if init.name == name:
            init.CopyFrom(numpy_helper.from_array(value, name))
            return
    raise KeyError(name)


def apply(model: onnx.ModelProto, plan_: HeadPlan, *, zero_only: bool = False) -> onnx.ModelProto:
    """``model`` (as indexed by the plan) without the heads not in each group's ``kept``.

    ``zero_only``: keep every shape, only zero the removed heads' inputs to the readers (the reference
    the real rewrite must reproduce).
    """
    assert plan_.trace is not None
    trace = plan_.trace
    g = trace.g
    out = copy.deepcopy(g.model)
    nodes = {n.name: n for n in out.graph.node}
    users: dict[str, int] = {}
    for node in out.graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    new_heads: dict[Factor, int] = {}
    for group in plan_.groups:
        kept = np.asarray(sorted(group.kept))
        for factor in group.factors:
            new_heads[factor] = len(kept)
        for layer in group.consumers:
            weight = _weight(g, nodes[layer])
            array = np.asarray(g.constants[weight.name])
            heads = input_head(group, trace, layer, array.shape[1 - weight.axis_out])
            keep = np.isin(heads, kept)
            if zero_only:
                mask = keep.astype(array.dtype)
                _set(out, weight.name, array * (mask[None, :] if weight.axis_out == 0 else mask[:, None]))
            else:
                _set(out, weight.name, np.compress(keep, array, axis=1 - weight.axis_out))
        if zero_only:
            continue
        for layer in group.producers:
            weight = _weight(g, nodes[layer])
            array = np.asarray(g.constants[weight.name])
            keep = np.isin(channel_head(group, layer, array.shape[weight.axis_out]), kept)
            _set(out, weight.name, np.compress(keep, array, axis=weight.axis_out))
            node = nodes[layer]
            bias = trace.biases.get(layer) or (node.input[2] if node.op_type == "Gemm" and len(node.input) > 2 else "")
            if bias in g.constants and np.size(g.constants[bias]) == keep.size:
                _set(out, bias, np.compress(keep, np.asarray(g.constants[bias]).reshape(-1)))
    if zero_only:
        return out
    for name, axes in trace.reshapes.items():
        if not any(_overlaps(f, h) for axis in axes for f in axis for h in new_heads):
            continue
        node = nodes[name]
        target = [int(v) for v in np.asarray(g.constants[node.input[1]]).reshape(-1)]
        for i, axis in enumerate(axes):
            if target[i] in (-1, 0):
                continue
            target[i] = int(np.prod([_resized(f, new_heads) for f in axis], dtype=np.int64))
        fresh = f"{node.input[1]}__heads_{name}"
        out.graph.initializer.append(numpy_helper.from_array(np.asarray(target, dtype=np.int64), fresh))
        node.input[1] = fresh
    for name, (axes, pieces) in trace.computed.items():
        if pieces is None or not any(_overlaps(f, h) for axis in axes for f in axis for h in new_heads):
            continue
        _rewrite_concat_target(out, nodes[name], g, axes, pieces, new_heads)
    del out.graph.value_info[:]
    used = {name for node in out.graph.node for name in node.input}
    used.update(o.name for o in out.graph.output)
    unused = [init for init in out.graph.initializer if init.name not in used]
    for init in unused:
        out.graph.initializer.remove(init)
    return out


def _rewrite_concat_target(
    out: onnx.ModelProto,
    reshape: onnx.NodeProto,
    g: GraphIndex,
    axes: Axes,
    pieces: list[Piece],
    heads: dict[Factor, int],
) -> None:
    """Give ``reshape`` its own copy of its Concat target with the constant entries resized for the heads."""
    concat = copy.deepcopy(g.producers[reshape.input[1]])
    changed = False
    for piece in pieces:
        values = list(piece.values)
        for offset, value in enumerate(values):
            axis = axes[piece.start + offset]
            if value not in (-1, 0) and any(_overlaps(f, h) for f in axis for h in heads):
                values[offset] = int(np.prod([_resized(f, heads) for f in axis], dtype=np.int64))
        if tuple(values) == piece.values:
            continue
        changed = True
        fresh = f"{concat.input[piece.input]}__heads_{reshape.name}"
        out.graph.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), fresh))
        concat.input[piece.input] = fresh
    if not changed:  # e.g. only -1 entries: the target follows the smaller tensors by itself
        return
    concat.name = f"{concat.name}__heads_{reshape.name}"
    concat.output[0] = f"{concat.output[0]}__heads_{reshape.name}"
    position = next(i for i, n in enumerate(out.graph.node) if n.name == reshape.name)
    out.graph.node.insert(position, concat)
    reshape.input[1] = concat.output[0]


def shared_weights(plan_: HeadPlan) -> set[str]:
    """Weights of head groups that another node also reads (cannot be sliced for one of them alone)."""
    assert plan_.trace is not None
    g = plan_.trace.g
    nodes = {n.name: n for n in g.model.graph.node}
    shared = set()
    for group in plan_.groups:
        for layer in group.producers + group.consumers:
            node = nodes[layer]
            bias = plan_.trace.biases.get(layer) or (node.input[2] if len(node.input) > 2 else "")
            if any(len(g.consumers.get(name, [])) > 1 for name in (node.input[1], bias) if name):
                shared.add(layer)
    return shared
