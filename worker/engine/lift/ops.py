"""ONNX node -> lifted step converters, one per supported op type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from worker.engine.errors import EngineError
from worker.engine.lift.graph import GraphIndex
from worker.engine.lift.module import LiftedGraph, Step, WeightSource

INT64_MAX = 2**62  # ONNX Slice uses huge ends for "to the end"


def unsupported(node: onnx.NodeProto, why: str) -> EngineError:
    return EngineError(
        "unsupported_op",
        f"structured pruning cannot lift ONNX op {node.op_type!r} (node {node.name!r}) to PyTorch: {why}. "
        "Unstructured pruning (method: unstructured) works on any graph.",
    )


def _runtime(g: GraphIndex, mod: LiftedGraph, name: str) -> str:
    """Make an initializer available to the forward pass (float -> buffer, int -> Python values)."""
    if name in g.constants:
        array = np.asarray(g.constants[name])
        if array.dtype.kind == "f":
            mod.add_const(name, torch.from_numpy(array.copy()))
        elif array.ndim == 0:
            mod.add_const(name, int(array))
        else:
            mod.add_const(name, tuple(int(v) for v in array.reshape(-1)))
    return name


def _step(g: GraphIndex, mod: LiftedGraph, node: onnx.NodeProto, fn: Callable[..., Any], inputs: list[str]) -> None:
    mod.steps.append(
        Step(node.name, node.op_type, [_runtime(g, mod, n) if n else "" for n in inputs], list(node.output), fn)
    )


def _layer_step(mod: LiftedGraph, node: onnx.NodeProto, key: str, source: str, output: str) -> None:
    mod.steps.append(Step(node.name, node.op_type, [source], [output], lambda m, x: m.layers[key](x), key))


def _weight(g: GraphIndex, node: onnx.NodeProto, index: int) -> np.ndarray:
    name = node.input[index] if len(node.input) > index else ""
    if name not in g.constants:
        raise unsupported(node, f"input {index} ({name!r}) is computed, not a stored weight")
    return np.asarray(g.constants[name], dtype=np.float32)


def _param(array: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.array(array, dtype=np.float32, copy=True)))


def _pads(g: GraphIndex, node: onnx.NodeProto, spatial: int) -> tuple[list[int], list[int] | None]:
    """(symmetric padding, explicit F.pad list or None)."""
    auto_pad = g.attr(node, "auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise unsupported(node, f"auto_pad={auto_pad} (only explicit pads)")
    pads = list(g.attr(node, "pads", [0] * (2 * spatial)))
    begin, end = pads[:spatial], pads[spatial:]
    if begin == end:
        return begin, None
    explicit: list[int] = []
    for b, e in zip(reversed(begin), reversed(end), strict=True):
        explicit += [b, e]
    return [0] * spatial, explicit


def conv(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> str:
    weight = _weight(g, node, 1)
    spatial = weight.ndim - 2
    if spatial not in (1, 2):
        raise unsupported(node, f"{spatial}-D convolution (1-D and 2-D are supported)")
    groups = int(g.attr(node, "group", 1))
    padding, explicit = _pads(g, node, spatial)
    cls = nn.Conv1d if spatial == 1 else nn.Conv2d
    bias = _weight(g, node, 2) if len(node.input) > 2 and node.input[2] else None
    layer = cls(
        weight.shape[1] * groups,
        weight.shape[0],
        tuple(weight.shape[2:]),
        stride=tuple(g.attr(node, "strides", [1] * spatial)),
        padding=tuple(padding),  # type: ignore[arg-type]
        dilation=tuple(g.attr(node, "dilations", [1] * spatial)),
        groups=groups,
        bias=bias is not None,
    )
    layer.weight = _param(weight)
    if bias is not None:
        layer.bias = _param(bias)
    key = mod.add_layer(node.name, layer)
    mod.sources[node.input[1]] = WeightSource(key, "weight", False)
    if bias is not None:
        mod.sources[node.input[2]] = WeightSource(key, "bias", False)
    source = node.input[0]
    if explicit is not None:
        padded = node.output[0] + "__padded"
        mod.steps.append(Step(node.name + "_pad", "Pad", [source], [padded], lambda m, x: F.pad(x, explicit)))
        source = padded
    _layer_step(mod, node, key, source, node.output[0])
    return key


def _linear(mod: LiftedGraph, node: onnx.NodeProto, weight: np.ndarray, bias: np.ndarray | None) -> str:
    """``weight`` in nn.Linear's [out, in] layout."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight = _param(weight)
    if bias is not None:
        layer.bias = _param(bias)
    return mod.add_layer(node.name, layer)


def gemm(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> str:
    if int(g.attr(node, "transA", 0)):
        raise unsupported(node, "transA=1")
    alpha, beta = float(g.attr(node, "alpha", 1.0)), float(g.attr(node, "beta", 1.0))
    b = _weight(g, node, 1)
    transposed = not int(g.attr(node, "transB", 0))
    weight = (b.T if transposed else b) * alpha
    bias = None
    if len(node.input) > 2 and node.input[2]:
        c = _weight(g, node, 2)
        if c.size not in (1, weight.shape[0]):
            raise unsupported(node, f"bias C of shape {list(c.shape)} is not per output feature")
        bias = np.broadcast_to(c.reshape(-1), (weight.shape[0],)) * beta
    key = _linear(mod, node, weight, bias)
    mod.sources[node.input[1]] = WeightSource(key, "weight", transposed, alpha)
    if bias is not None and g.constants[node.input[2]].size == weight.shape[0]:
        mod.sources[node.input[2]] = WeightSource(key, "bias", False, beta)
    _layer_step(mod, node, key, node.input[0], node.output[0])
    return key


def _bias_add(g: GraphIndex, node: onnx.NodeProto, features: int) -> tuple[onnx.NodeProto, str] | None:
    """The Add right after a MatMul that adds a per-feature constant (a Linear's bias), if any."""
    users = g.consumers.get(node.output[0], [])
    if len(users) != 1 or users[0].op_type != "Add" or node.output[0] in g.outputs:
        return None
    add = users[0]
    other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
    value = g.constants.get(other)
    if value is None or value.dtype.kind != "f" or value.size != features or value.shape[-1:] != (features,):
        return None
    return add, other


def matmul(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> str | None:
    b = g.constants.get(node.input[1])
    if b is None or b.ndim != 2 or node.input[0] in g.constants:
        _step(g, mod, node, lambda m, a, b: torch.matmul(a, b), list(node.input))
        return None
    weight = np.asarray(b, np.float32).T
    bias_add = _bias_add(g, node, weight.shape[0])
    bias = None if bias_add is None else np.asarray(g.constants[bias_add[1]], np.float32).reshape(-1)
    key = _linear(mod, node, weight, bias)
    mod.sources[node.input[1]] = WeightSource(key, "weight", True)
    output = node.output[0]
    if bias_add is not None:
        fused.add(bias_add[0].name)
        mod.sources[bias_add[1]] = WeightSource(key, "bias", False)
        output = bias_add[0].output[0]
    _layer_step(mod, node, key, node.input[0], output)
    return key


def batchnorm(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> str:
    scale, bias, mean, var = (_weight(g, node, i) for i in range(1, 5))
    rank = g.rank(node.input[0]) or 4
    cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
    if rank not in (2, 3, 4):
        raise unsupported(node, f"batch norm over a rank-{rank} tensor")
    layer = cls(scale.shape[0], eps=float(g.attr(node, "epsilon", 1e-5)))
    layer.weight, layer.bias = _param(scale), _param(bias)
    layer.running_mean.copy_(torch.from_numpy(mean.copy()))  # type: ignore[union-attr]
    layer.running_var.copy_(torch.from_numpy(var.copy()))  # type: ignore[union-attr]
    layer.eval()
    key = mod.add_layer(node.name, layer)
    mod.sources[node.input[1]] = WeightSource(key, "weight", False)
    mod.sources[node.input[2]] = WeightSource(key, "bias", False)
    _layer_step(mod, node, key, node.input[0], node.output[0])
    return key


def layernorm(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> str:
    axis = int(g.attr(node, "axis", -1))
    rank = g.rank(node.input[0])
    if axis != -1 and (rank is None or axis != rank - 1):
        raise unsupported(node, f"normalization over axis {axis} (only the last axis)")
    scale = _weight(g, node, 1)
    bias = _weight(g, node, 2) if len(node.input) > 2 and node.input[2] else None
    layer = nn.LayerNorm(scale.shape[-1], eps=float(g.attr(node, "epsilon", 1e-5)), bias=bias is not None)
    layer.weight = _param(scale.reshape(-1))
    if bias is not None:
        layer.bias = _param(bias.reshape(-1))
    key = mod.add_layer(node.name, layer)
    mod.sources[node.input[1]] = WeightSource(key, "weight", False)
    if bias is not None:
        mod.sources[node.input[2]] = WeightSource(key, "bias", False)
    _layer_step(mod, node, key, node.input[0], node.output[0])
    return key


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., None]:
    def convert(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
        # a shape value (Python ints) meets tensor math, e.g. 1/sqrt(head_dim) read off a shape
        _step(
            g,
            mod,
            node,
            lambda m, x: fn(x if isinstance(x, torch.Tensor) else torch.as_tensor(x, device=m.device)),
            [node.input[0]],
        )

    return convert


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[..., None]:
    def convert(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
        _step(g, mod, node, lambda m, a, b: fn(a, b), list(node.input[:2]))

    return convert


def gelu(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    approximate = str(g.attr(node, "approximate", "none"))
    _step(g, mod, node, lambda m, x: F.gelu(x, approximate=approximate), [node.input[0]])


def leaky_relu(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    alpha = float(g.attr(node, "alpha", 0.01))
    _step(g, mod, node, lambda m, x: F.leaky_relu(x, alpha), [node.input[0]])


def hard_sigmoid(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    alpha, beta = float(g.attr(node, "alpha", 0.2)), float(g.attr(node, "beta", 0.5))
    _step(g, mod, node, lambda m, x: torch.clamp(alpha * x + beta, 0.0, 1.0), [node.input[0]])


def clip(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    bounds: list[float | None] = []
    for index, attr in ((1, "min"), (2, "max")):
        name = node.input[index] if len(node.input) > index else ""
        if name and name not in g.constants:
            raise unsupported(node, "computed clip bounds")
        value = g.constants[name] if name else g.attr(node, attr)
        bounds.append(None if value is None else float(np.asarray(value)))
    low, high = bounds
    _step(g, mod, node, lambda m, x: torch.clamp(x, low, high), [node.input[0]])


def softmax(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axis = int(g.attr(node, "axis", -1))
    fn = F.log_softmax if node.op_type == "LogSoftmax" else F.softmax
    _step(g, mod, node, lambda m, x: fn(x, dim=axis), [node.input[0]])


def _pool_common(g: GraphIndex, node: onnx.NodeProto) -> tuple[list[int], list[int], list[int], list[int] | None]:
    kernel = list(g.attr(node, "kernel_shape"))
    if len(kernel) != 2:
        raise unsupported(node, f"{len(kernel)}-D pooling (2-D is supported)")
    strides = list(g.attr(node, "strides", [1, 1]))
    padding, explicit = _pads(g, node, 2)
    return kernel, strides, padding, explicit


def max_pool(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    kernel, strides, padding, explicit = _pool_common(g, node)
    if explicit is not None or len(node.output) > 1:
        raise unsupported(node, "asymmetric pads or an indices output")
    ceil = bool(g.attr(node, "ceil_mode", 0))
    dilation = list(g.attr(node, "dilations", [1, 1]))
    _step(
        g,
        mod,
        node,
        lambda m, x: F.max_pool2d(x, kernel, strides, padding, dilation, ceil_mode=ceil),
        [node.input[0]],
    )


def avg_pool(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    kernel, strides, padding, explicit = _pool_common(g, node)
    if explicit is not None:
        raise unsupported(node, "asymmetric pads")
    ceil = bool(g.attr(node, "ceil_mode", 0))
    include = bool(g.attr(node, "count_include_pad", 0))
    _step(
        g,
        mod,
        node,
        lambda m, x: F.avg_pool2d(x, kernel, strides, padding, ceil_mode=ceil, count_include_pad=include),
        [node.input[0]],
    )


def global_pool(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    take_max = node.op_type == "GlobalMaxPool"

    def fn(m: Any, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        return x.amax(dim=dims, keepdim=True) if take_max else x.mean(dim=dims, keepdim=True)

    _step(g, mod, node, fn, [node.input[0]])


def reduce(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axes = g.attr(node, "axes")
    if axes is None and len(node.input) > 1 and node.input[1]:  # opset 18: axes as an input
        axes = g.const_ints(node.input[1])
        if axes is None:
            raise unsupported(node, "computed reduction axes")
    keep = bool(g.attr(node, "keepdims", 1))
    noop = bool(g.attr(node, "noop_with_empty_axes", 0))
    dims = None if not axes else tuple(int(a) for a in axes)
    kind = node.op_type

    def fn(m: Any, x: torch.Tensor) -> torch.Tensor:
        if dims is None and noop:
            return x
        d = dims if dims is not None else tuple(range(x.dim()))
        if kind == "ReduceMean":
            return x.mean(dim=d, keepdim=keep)
        if kind == "ReduceSum":
            return x.sum(dim=d, keepdim=keep)
        return x.amax(dim=d, keepdim=keep)

    _step(g, mod, node, fn, [node.input[0]])


def flatten(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axis = int(g.attr(node, "axis", 1))

    def fn(m: Any, x: torch.Tensor) -> torch.Tensor:
        a = axis % x.dim() if axis < 0 else axis
        if a == 0:
            return x.reshape(1, -1)
        return (x.flatten(0, a - 1) if a > 1 else x).flatten(1)

    _step(g, mod, node, fn, [node.input[0]])


def flatten_like(g: GraphIndex, node: onnx.NodeProto) -> bool:
    """A Reshape to [batch, features] of a tensor of rank > 2 with a constant target: rewritten to Flatten.

    A constant feature count would go stale once the layer before it loses channels (STACK.md).
    """
    target = g.const_ints(node.input[1])
    shape = g.shapes.get(node.input[0])
    if target is None or shape is None or len(target) != 2 or len(shape) <= 2:
        return False
    rest = [d for d in shape[1:] if isinstance(d, int) and d > 0]
    if len(rest) != len(shape) - 1:
        return False
    features = int(np.prod(rest))
    batch_ok = target[0] in (-1, 0) or (isinstance(shape[0], int) and target[0] == shape[0])
    return batch_ok and target[1] in (-1, features) and not (target[0] == -1 and target[1] == -1)


def reshape(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    if flatten_like(g, node):
        _step(g, mod, node, lambda m, x: x.flatten(1), [node.input[0]])
        g.notes.append(f"rewrote Reshape {node.name!r} (constant target shape) to Flatten")
        return
    allow_zero = bool(g.attr(node, "allowzero", 0))

    def fn(m: Any, x: torch.Tensor, shape: Any) -> torch.Tensor:
        target = [int(v) if isinstance(v, np.integer) else v for v in (shape if isinstance(shape, tuple) else (shape,))]
        if not allow_zero:
            target = [x.shape[i] if isinstance(v, int) and v == 0 else v for i, v in enumerate(target)]
        return x.reshape(target)

    _step(g, mod, node, fn, list(node.input[:2]))


def transpose(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    perm = list(g.attr(node, "perm") or [])
    _step(
        g,
        mod,
        node,
        lambda m, x: x.permute(*(perm or reversed(range(x.dim())))),
        [node.input[0]],
    )


def _axes(g: GraphIndex, node: onnx.NodeProto) -> list[int] | None:
    axes = g.attr(node, "axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = g.const_ints(node.input[1])
        if axes is None:
            raise unsupported(node, "computed axes")
    return None if axes is None else [int(a) for a in axes]


def unsqueeze(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axes = _axes(g, node) or []

    def fn(m: Any, x: Any) -> Any:
        if not isinstance(x, torch.Tensor):  # shape arithmetic on Python values
            return (x,) if not isinstance(x, tuple) else x
        rank = x.dim() + len(axes)
        for a in sorted(a % rank for a in axes):
            x = x.unsqueeze(a)
        return x

    _step(g, mod, node, fn, [node.input[0]])


def squeeze(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axes = _axes(g, node)

    def fn(m: Any, x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            return x[0] if isinstance(x, tuple) and len(x) == 1 else x
        dims = [a % x.dim() for a in axes] if axes else [i for i, d in enumerate(x.shape) if d == 1]
        for a in sorted(dims, reverse=True):
            x = x.squeeze(a)
        return x

    _step(g, mod, node, fn, [node.input[0]])


def concat(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    axis = int(g.attr(node, "axis", 0))

    def fn(m: Any, *parts: Any) -> Any:
        if all(not isinstance(p, torch.Tensor) for p in parts):
            return tuple(v for p in parts for v in (p if isinstance(p, tuple) else (p,)))
        return torch.cat(parts, dim=axis)

    _step(g, mod, node, fn, list(node.input))


def shape(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    start, end = int(g.attr(node, "start", 0)), g.attr(node, "end")
    end = None if end is None else int(end)
    _step(g, mod, node, lambda m, x: tuple(x.shape)[start:end], [node.input[0]])


def gather(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    indices = g.constants.get(node.input[1])
    if indices is None:
        raise unsupported(node, "computed indices")
    axis = int(g.attr(node, "axis", 0))
    scalar = np.ndim(indices) == 0
    idx = [int(i) for i in np.asarray(indices).reshape(-1)]

    def fn(m: Any, x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            return x[idx[0]] if scalar else tuple(x[i] for i in idx)
        if scalar:
            return x.select(axis, idx[0])
        return x.index_select(axis, torch.tensor(idx, device=x.device))

    _step(g, mod, node, fn, [node.input[0]])


def slice_(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    values = [g.const_ints(n) if n else None for n in list(node.input[1:]) + [""] * (5 - len(node.input))]
    starts, ends, axes, steps = values[:4]
    if starts is None or ends is None:
        raise unsupported(node, "computed slice bounds")
    axes = axes or list(range(len(starts)))
    steps = steps or [1] * len(starts)

    def fn(m: Any, x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            s, e = starts[0], ends[0]
            return x[s : None if e >= INT64_MAX else e : steps[0]]
        index: list[Any] = [slice(None)] * x.dim()
        for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
            index[a] = slice(s, None if abs(e) >= INT64_MAX else e, st)
        return x[tuple(index)]

    _step(g, mod, node, fn, [node.input[0]])


def cast(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    to = onnx.helper.tensor_dtype_to_np_dtype(int(g.attr(node, "to")))
    dtype = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "int32": torch.int32}.get(
        str(to)
    )
    if dtype is None:
        raise unsupported(node, f"cast to {to}")

    def fn(m: Any, x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.to(dtype)
        # shape arithmetic stays in Python ints; a cast to float leaves it (e.g. to scale by a head size)
        return torch.as_tensor(x, dtype=dtype, device=m.device) if dtype.is_floating_point else x

    _step(g, mod, node, fn, [node.input[0]])


def identity(g: GraphIndex, node: onnx.NodeProto, mod: LiftedGraph, fused: set[str]) -> None:
    _step(g, mod, node, lambda m, x: x, [node.input[0]])


CONVERTERS: dict[str, Callable[..., Any]] = {
    "Conv": conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "BatchNormalization": batchnorm,
    "LayerNormalization": layernorm,
    "Relu": _unary(F.relu),
    "Sigmoid": _unary(torch.sigmoid),
    "Tanh": _unary(torch.tanh),
    "Erf": _unary(torch.erf),
    "Sqrt": _unary(torch.sqrt),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Neg": _unary(torch.neg),
    "Abs": _unary(torch.abs),
    "Reciprocal": _unary(torch.reciprocal),
    "Softplus": _unary(F.softplus),
    "HardSwish": _unary(F.hardswish),
    "Elu": _unary(F.elu),
    "Gelu": gelu,
    "LeakyRelu": leaky_relu,
    "HardSigmoid": hard_sigmoid,
    "Clip": clip,
    "Softmax": softmax,
    "LogSoftmax": softmax,
    "Identity": identity,
    "Dropout": identity,
    "Add": _binary(lambda a, b: a + b),
    "Sub": _binary(lambda a, b: a - b),
    "Mul": _binary(lambda a, b: a * b),
    "Div": _binary(lambda a, b: a / b),
    "Pow": _binary(torch.pow),
    "MaxPool": max_pool,
    "AveragePool": avg_pool,
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "ReduceMean": reduce,
    "ReduceSum": reduce,
    "ReduceMax": reduce,
    "Flatten": flatten,
    "Reshape": reshape,
    "Transpose": transpose,
    "Unsqueeze": unsqueeze,
    "Squeeze": squeeze,
    "Concat": concat,
    "Shape": shape,
    "Gather": gather,
    "Slice": slice_,
    "Cast": cast,
}
