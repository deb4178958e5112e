"""Following a layer's channels through the graph, for attention-head pruning (``heads``; no torch needed).

Each Gemm/MatMul layer's output channel axis is followed through the graph as a list of *factors* per
axis (a factor is a mixed-radix digit of that layer's channel index; Reshape splits and merges them,
Transpose moves them, Gather/Split pick one digit of a packed q/k/v projection). Factors that meet in
the batch axes of an activation x activation MatMul (q·kᵀ, attention·v) are heads; the ones that meet
are one group and lose the same heads. Anything the tracker cannot follow leaves that layer's heads
whole, with the reason (``Trace.failed``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper

from worker.engine import modelio
from worker.engine.lift.channels import UNARY
from worker.engine.lift.graph import GraphIndex

PASSTHROUGH = UNARY | {"Identity", "Dropout", "Cast"}
RESHAPES = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow"}


@dataclass(frozen=True)
class Factor:
    """A digit of a tensor axis: ``size`` values; for a layer's channels, the digit's ``stride`` in them."""

    size: int
    layer: str | None = None
    stride: int = 1

    def split(self, outer: int) -> tuple[Factor, Factor]:
        inner = self.size // outer
        if self.layer is None:
            return Factor(outer), Factor(inner)
        return Factor(outer, self.layer, self.stride * inner), Factor(inner, self.layer, self.stride)


Axes = list[tuple[Factor, ...]]


def _channel_factors(axes: Axes) -> list[Factor]:
    return [f for axis in axes for f in axis if f.layer is not None]


def _layers(axes: Axes) -> set[str]:
    return {f.layer for f in _channel_factors(axes) if f.layer is not None}


def opaque(shape: tuple[int, ...]) -> Axes:
    return [(Factor(d),) if d != 1 else () for d in shape]


def regroup(axes: Axes, shape: tuple[int, ...]) -> Axes | None:
    """The factors of ``axes`` laid out row-major into ``shape`` (splitting digits where needed), or None."""
    queue = [f for axis in axes for f in axis if f.size != 1]
    result: Axes = []
    for dim in shape:
        taken: list[Factor] = []
        product = 1
        while product < dim:
            if not queue:
                return None
            factor = queue.pop(0)
            if dim % (product * factor.size) == 0:
                taken.append(factor)
                product *= factor.size
                continue
            need, rest = divmod(dim, product)
            if rest or factor.size % need:
                return None
            outer, inner = factor.split(need)
            taken.append(outer)
            product *= need
            queue.insert(0, inner)
        if product != dim:
            return None
        result.append(tuple(taken))
    return None if queue else result


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Factor, Factor] = {}

    def find(self, f: Factor) -> Factor:
        self.parent.setdefault(f, f)
        while self.parent[f] != f:
            self.parent[f] = self.parent[self.parent[f]]
            f = self.parent[f]
        return f

    def union(self, a: Factor, b: Factor) -> None:
        self.parent[self.find(a)] = self.find(b)


@dataclass
class Trace:
    g: GraphIndex
    shapes: dict[str, tuple[int, ...]]
    state: dict[str, Axes] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # layer -> why its heads cannot be followed
    frozen: set[Factor] = field(default_factory=set)  # digits that must keep their size
    heads: _UnionFind = field(default_factory=_UnionFind)
    head_factors: set[Factor] = field(default_factory=set)
    reshapes: dict[str, Axes] = field(default_factory=dict)  # Reshape node -> its output's factors
    consumers: dict[str, tuple[Factor, ...]] = field(default_factory=dict)  # layer -> factors of its input axis
    biases: dict[str, str] = field(default_factory=dict)  # layer -> bias initializer
    # Reshapes whose target is computed: their factors, and the constant pieces of a Concat target
    computed: dict[str, tuple[Axes, list[Piece] | None]] = field(default_factory=dict)

    def fail(self, axes_list: list[Axes], why: str) -> None:
        for axes in axes_list:
            for layer in _layers(axes):
                self.failed.setdefault(layer, why)


def is_linear(g: GraphIndex, node: onnx.NodeProto) -> bool:
    if node.op_type == "Gemm":
        return node.input[1] in g.constants and int(g.attr(node, "transA", 0)) == 0
    return node.op_type == "MatMul" and node.input[1] in g.constants and g.constants[node.input[1]].ndim == 2


def out_channels(g: GraphIndex, layer: str | onnx.NodeProto) -> int:
    """Output channels of a Gemm/MatMul weight layer (given by node or node name)."""
    node = layer if isinstance(layer, onnx.NodeProto) else next(n for n in g.model.graph.node if n.name == layer)
    weight = g.constants[node.input[1]]
    transposed = node.op_type == "Gemm" and int(g.attr(node, "transB", 0))
    return int(weight.shape[0] if transposed else weight.shape[1])


def concrete_shapes(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape on ``feed``, read off one onnxruntime run that exposes all intermediates."""
    import onnxruntime as ort

    probe = copy.deepcopy(model)
    types = {v.name: v.type.tensor_type.elem_type for v in probe.graph.value_info}
    types.update({v.name: v.type.tensor_type.elem_type for v in probe.graph.output})
    present = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for name in node.output:
            if name and name not in present and types.get(name):
                probe.graph.output.append(helper.make_tensor_value_info(name, types[name], None))
                present.add(name)
    options = modelio.session_options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    values = session.run(None, feed)
    shapes = {o.name: tuple(np.shape(v)) for o, v in zip(session.get_outputs(), values, strict=True)}
    shapes.update({name: tuple(value.shape) for name, value in feed.items()})
    return shapes


@dataclass(frozen=True)
class Piece:
    """A constant input of the Concat that builds a Reshape target: which input, where it starts, its values."""

    input: int
    start: int
    values: tuple[int, ...]


def _constant_pieces(trace: Trace, name: str) -> list[Piece] | None:
    """The constant parts of a target shape built by Concat (the legacy exporter's and HF's
    ``view(*x.shape[:-1], heads, head_dim)``); None when the target is not a Concat of known pieces."""
    g = trace.g
    node = g.producers.get(name)
    if node is None or node.op_type != "Concat":
        return None
    pieces, position = [], 0
    for index_, part in enumerate(node.input):
        source = part
        while (step := g.producers.get(source)) is not None and (
            step.op_type == "Identity"
            or (step.op_type == "Cast" and int(g.attr(step, "to", 0)) == onnx.TensorProto.INT64)
        ):
            source = step.input[0]  # paddle2onnx writes Cast(Constant) pieces
        if source in g.constants:
            values = tuple(int(v) for v in np.asarray(g.constants[source]).reshape(-1))
            pieces.append(Piece(index_, position, values))
            position += len(values)
        elif part in trace.shapes and len(trace.shapes[part]) == 1:
            position += trace.shapes[part][0]  # read off a shape at run time: follows the tensors
        else:
            return None
    return pieces


def _broadcast(trace: Trace, node: onnx.NodeProto) -> Axes | None:
    """Elementwise ops: tracked digits pass where the other operand matches them or broadcasts (size 1)."""
    g, out_shape = trace.g, trace.shapes[node.output[0]]
    rank = len(out_shape)
    operands = []
    for name in node.input[:2]:
        shape = trace.shapes.get(name, tuple(np.shape(g.constants[name])) if name in g.constants else None)
        if shape is None:
            return None
        axes = trace.state.get(name) or opaque(shape)
        pad = rank - len(shape)
        operands.append(([()] * pad + list(axes), (1,) * pad + tuple(shape), name))
    result: Axes = []
    for i, dim in enumerate(out_shape):
        chosen: tuple[Factor, ...] | None = None
        for axes, shape, _name in operands:
            if shape[i] == 1:
                continue
            if any(f.layer for f in axes[i]):
                if chosen is not None and any(f.layer for f in chosen) and chosen != axes[i]:
                    return None  # two different channel layouts meet
                chosen = axes[i]
            elif chosen is None or not any(f.layer for f in chosen):
                chosen = chosen or axes[i]
        channel = chosen is not None and any(f.layer for f in chosen)
        for axes, shape, name in operands:
            if channel and shape[i] != 1 and not any(f.layer for f in axes[i]):
                if _is_bias(trace, node, name, axes_of_other=chosen):
                    continue
                return None  # a per-channel tensor that would not shrink with the heads
        result.append(chosen if chosen is not None else (Factor(dim),) if dim != 1 else ())
    return result


def _is_bias(trace: Trace, node: onnx.NodeProto, name: str, axes_of_other: tuple[Factor, ...] | None) -> bool:
    """An Add of a 1-D constant straight after a layer, over its whole channel axis: that layer's bias."""
    g = trace.g
    if node.op_type != "Add" or name not in g.constants or g.constants[name].ndim != 1 or not axes_of_other:
        return False
    if len(axes_of_other) != 1 or axes_of_other[0].stride != 1:
        return False
    layer = axes_of_other[0].layer
    producer = g.producers.get(next(n for n in node.input[:2] if n != name))
    if producer is None or producer.name != layer or len(g.consumers.get(producer.output[0], [])) != 1:
        return False
    trace.biases[str(layer)] = name
    return True


def _slice(trace: Trace, node: onnx.NodeProto, axes: Axes, out_shape: tuple[int, ...]) -> Axes | None:
    """Slice: untouched axes keep their digits; a packed projection's axis may be cut into aligned chunks
    (``qkv[:, :, 0:E]``, ``qkv[0:1]``): the chunk index becomes a fixed (frozen) outer digit."""
    g = trace.g
    in_shape = trace.shapes.get(node.input[0])
    if in_shape is None or len(in_shape) != len(out_shape):
        return None
    starts = g.const_ints(node.input[1]) if len(node.input) > 1 else g.attr(node, "starts")
    axes_ = g.const_ints(node.input[3]) if len(node.input) > 3 and node.input[3] else g.attr(node, "axes")
    steps = g.const_ints(node.input[4]) if len(node.input) > 4 and node.input[4] else None
    if starts is None:
        return None
    sliced = [int(a) % len(in_shape) for a in (axes_ if axes_ is not None else range(len(starts)))]
    result = list(axes)
    for i, dim in enumerate(out_shape):
        factors = [f for f in axes[i] if f.size != 1]
        if dim == in_shape[i]:
            continue
        if not any(f.layer for f in factors):
            result[i] = (Factor(dim),) if dim != 1 else ()
            continue
        if i not in sliced or len(factors) != 1 or (steps and steps[sliced.index(i)] != 1):
            return None
        start = int(starts[sliced.index(i)])
        start = max(0, start + in_shape[i]) if start < 0 else min(start, in_shape[i])
        factor = factors[0]
        if dim == 0 or factor.size % dim or start % dim:
            return None
        outer, inner = factor.split(factor.size // dim)
        trace.frozen.add(outer)
        result[i] = (inner,) if inner.size != 1 else ()
    return result


def _matmul(trace: Trace, a: Axes, b: Axes, out_shape: tuple[int, ...]) -> Axes | None:
    """Activation x activation: heads meet in the batch axes, head_dim digits in the contracted axis."""
    if len(a) < 2 or len(b) < 2:
        return None
    rank = len(out_shape)
    a = [()] * (rank - len(a)) + list(a)
    b = [()] * (rank - len(b)) + list(b)
    pairs = [(a[i], b[i]) for i in range(rank - 2)] + [(a[-1], b[-2])]
    for index_, (x, y) in enumerate(pairs):
        xs, ys = [f for f in x if f.size != 1], [f for f in y if f.size != 1]
        batch = index_ < rank - 2
        if any(f.layer for f in xs + ys):
            if not xs or not ys:  # the other side broadcasts (batch) or is the same size (contracted)
                if not batch:
                    trace.frozen.update(f for f in xs + ys if f.layer)
                else:
                    trace.head_factors.update(f for f in xs + ys if f.layer)
                continue
            if [f.size for f in xs] != [f.size for f in ys]:
                return None
            for fx, fy in zip(xs, ys, strict=True):
                if (fx.layer is None) != (fy.layer is None):
                    trace.frozen.update(f for f in (fx, fy) if f.layer)
                    continue
                if fx.layer is None:
                    continue
                trace.heads.union(fx, fy)
                if batch:
                    trace.head_factors.update((fx, fy))
    batch_axes = [x if any(f.layer for f in x) else y for x, y in zip(a[:-2], b[:-2], strict=True)]
    return [*batch_axes, a[-2], b[-1]]


def step(trace: Trace, node: onnx.NodeProto) -> None:  # noqa: C901 - one branch per op family
    g, op = trace.g, node.op_type
    tracked = [trace.state[n] for n in node.input if n in trace.state]
    if not tracked:
        return
    if is_linear(g, node) and node.input[0] in trace.state:
        axes = trace.state[node.input[0]]
        if any(f.layer for axis in axes[:-1] for f in axis):
            trace.fail(tracked, f"{op} {node.name!r} reads its channels on another axis than its input features")
            return
        trace.consumers[node.name] = tuple(f for f in axes[-1] if f.size != 1)
        return
    out = node.output[0] if node.output else ""
    shape = trace.shapes.get(out)
    if shape is None and op != "Shape":
        trace.fail(tracked, f"the shape of {out!r} after {op} {node.name!r} is unknown")
        return
    axes = tracked[0]
    result: Axes | None
    if op in PASSTHROUGH:
        result = axes
    elif op == "Shape":
        return  # shapes computed at run time follow the smaller tensors by themselves
    elif op == "Transpose":
        perm = list(g.attr(node, "perm") or reversed(range(len(axes))))
        result = [axes[p] for p in perm]
    elif op in RESHAPES:
        assert shape is not None
        result = regroup(axes, shape)
        if result is not None and op == "Reshape":
            if node.input[1] in g.constants:
                trace.reshapes[node.name] = result
            elif any(f.layer for axis in result for f in axis):
                trace.computed[node.name] = (result, _constant_pieces(trace, node.input[1]))
    elif op in ("Softmax", "LogSoftmax"):
        axis = int(g.attr(node, "axis", -1)) % len(axes)
        result = None if any(f.layer for f in axes[axis]) else axes
    elif op == "Gather" and node.input[0] in trace.state and node.input[1] in g.constants:
        axis = int(g.attr(node, "axis", 0)) % len(axes)
        picked = [f for f in axes[axis] if f.size != 1]
        if len(picked) > 1 or (picked and picked[0].layer and g.constants[node.input[1]].ndim != 0):
            result = None
        else:
            trace.frozen.update(f for f in picked if f.layer)
            assert shape is not None
            middle = opaque(shape[axis : axis + g.constants[node.input[1]].ndim])
            result = [*axes[:axis], *middle, *axes[axis + 1 :]]
    elif op == "Split" and node.input[0] in trace.state:
        axis = int(g.attr(node, "axis", 0)) % len(axes)
        sizes = {trace.shapes.get(o, (0,) * len(axes))[axis] for o in node.output}
        picked = [f for f in axes[axis] if f.size != 1]
        if len(sizes) != 1 or len(picked) != 1 or picked[0].size % len(node.output):
            result = None
        else:
            outer, inner = picked[0].split(len(node.output))
            trace.frozen.add(outer)
            for name in node.output:
                trace.state[name] = [*axes[:axis], (inner,), *axes[axis + 1 :]]
            return
    elif op == "Slice" and node.input[0] in trace.state:
        assert shape is not None
        result = _slice(trace, node, axes, shape)
    elif op in BINARY:
        result = _broadcast(trace, node)
    elif op == "MatMul" and len(tracked) >= 1:
        assert shape is not None
        a = trace.state.get(node.input[0]) or opaque(trace.shapes.get(node.input[0], ()))
        b = trace.state.get(node.input[1]) or opaque(trace.shapes.get(node.input[1], ()))
        result = _matmul(trace, a, b, shape)
    else:
        result = None
    if result is None:
        trace.fail(tracked, f"its channels flow into {op} {node.name!r}, which head pruning cannot follow")
        return
    if out in g.outputs and any(f.layer for axis in result for f in axis):
        trace.fail([result], f"its channels reach the model output {out!r}")
        return
    if any(f.layer for axis in result for f in axis):
        trace.state[out] = result
