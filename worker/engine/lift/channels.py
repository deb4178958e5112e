"""Which weight layers may lose output channels, decided on the ONNX graph (no torch).

Torch-Pruning follows channels through the traced autograd graph, but it cannot shrink constants that
live outside modules, graph outputs, or shapes baked into a Reshape. Such layers are kept whole, with
the reason, and Torch-Pruning then skips every group that contains them (residual partners included).
"""

from __future__ import annotations

import onnx

from worker.engine.lift.graph import GraphIndex
from worker.engine.lift.ops import flatten_like

UNARY = {
    "Relu",
    "Sigmoid",
    "Tanh",
    "Erf",
    "Sqrt",
    "Exp",
    "Log",
    "Neg",
    "Abs",
    "Reciprocal",
    "Softplus",
    "HardSwish",
    "Elu",
    "Gelu",
    "LeakyRelu",
    "HardSigmoid",
    "Clip",
    "Identity",
    "Dropout",
    "Cast",
}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow"}
POOLS = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
REDUCE = {"ReduceMean", "ReduceSum", "ReduceMax"}
LAYERS = {"Conv", "Gemm", "MatMul"}


def _reduce_axes(g: GraphIndex, node: onnx.NodeProto) -> list[int] | None:
    axes = g.attr(node, "axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = g.const_ints(node.input[1])
    return None if axes is None else [int(a) for a in axes]


def is_weight_layer(g: GraphIndex, node: onnx.NodeProto) -> bool:
    if node.op_type in ("Conv", "Gemm"):
        return len(node.input) > 1 and node.input[1] in g.constants
    return node.op_type == "MatMul" and node.input[1] in g.constants and g.constants[node.input[1]].ndim == 2


def _produced_by_layer(g: GraphIndex, name: str, depth: int = 0) -> bool:
    """Does a weight layer produce ``name``'s channels (through channel-wise ops)? Graph inputs do not."""
    node = g.producers.get(name)
    if node is None or depth > 64:
        return False
    if is_weight_layer(g, node) or node.op_type == "Add" and _bias_of_matmul(g, node):
        return True
    if node.op_type in UNARY or node.op_type in POOLS or node.op_type in ("BatchNormalization", "LayerNormalization"):
        return _produced_by_layer(g, node.input[0], depth + 1)
    if node.op_type in BINARY:
        dynamic = [n for n in node.input[:2] if n not in g.constants]
        return bool(dynamic) and all(_produced_by_layer(g, n, depth + 1) for n in dynamic)
    return False


def _bias_of_matmul(g: GraphIndex, add: onnx.NodeProto) -> bool:
    return any(
        (p := g.producers.get(n)) is not None and p.op_type == "MatMul" and is_weight_layer(g, p) for n in add.input[:2]
    )


def blockers(g: GraphIndex, layer: onnx.NodeProto, output: str) -> str | None:
    """Why ``layer`` (whose channels come out of tensor ``output``) cannot lose output channels, or None."""
    channel_axis = 1 if layer.op_type == "Conv" else -1
    frontier = [(output, channel_axis)]
    seen: set[str] = set()
    while frontier:
        tensor, axis = frontier.pop()
        if tensor in seen:
            continue
        seen.add(tensor)
        rank = g.rank(tensor)
        if axis < 0 and rank is not None:
            axis += rank
        if tensor in g.outputs:
            return f"its channels reach the model output {tensor!r}"
        for user in g.consumers.get(tensor, []):
            op = user.op_type
            last = rank is not None and axis == rank - 1
            if op == "Conv" and user.input[0] == tensor and axis == 1 and is_weight_layer(g, user):
                continue
            if op in ("Gemm", "MatMul") and user.input[0] == tensor and is_weight_layer(g, user):
                if not last:
                    return f"a layer after it ({user.name!r}) reads another axis than its channels"
                continue
            batchnorm = op == "BatchNormalization" and user.input[0] == tensor and axis == 1
            layernorm = op == "LayerNormalization" and user.input[0] == tensor and last
            if batchnorm or layernorm or op in UNARY or op in POOLS:
                frontier.append((user.output[0], axis))
            elif op in ("Softmax", "LogSoftmax"):
                softmax_axis = int(g.attr(user, "axis", -1))
                if rank is not None and softmax_axis % rank == axis:
                    return f"Softmax {user.name!r} normalizes over its channels"
                frontier.append((user.output[0], axis))
            elif op in BINARY:
                other = user.input[1] if user.input[0] == tensor else user.input[0]
                if other in g.constants:
                    value = g.constants[other]
                    offset = (rank or value.ndim) - value.ndim
                    along = axis - offset
                    if 0 <= along < value.ndim and value.shape[along] != 1:
                        if op == "Add" and _bias_of_matmul(g, user):
                            frontier.append((user.output[0], axis))
                            continue
                        return f"{op} {user.name!r} combines its channels with a per-channel constant"
                elif other != tensor and not _produced_by_layer(g, other):
                    return f"{op} {user.name!r} combines it with a tensor no prunable layer produces (e.g. an input)"
                frontier.append((user.output[0], axis))
            elif op in REDUCE:
                axes = _reduce_axes(g, user)
                if rank is None or axes is None or axis in [a % rank for a in axes]:
                    return f"{op} {user.name!r} reduces over its channels"
                if not int(g.attr(user, "keepdims", 1)):
                    axis -= sum(1 for a in axes if a % rank < axis)
                frontier.append((user.output[0], axis))
            elif (op == "Flatten" and int(g.attr(user, "axis", 1)) == 1) or (
                op == "Reshape" and user.input[0] == tensor and flatten_like(g, user)
            ):
                if axis != 1:
                    return f"{op} {user.name!r} flattens another axis than its channels"
                frontier.append((user.output[0], 1))
            else:
                return f"its channels flow into {op} {user.name!r}, which the pruner cannot follow"
    return None
