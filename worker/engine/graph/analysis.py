"""What a graph holds that the passes must treat with care: nodes to keep in float, image stems.

Read-only: nothing here changes the model.
"""

from __future__ import annotations

import re

import onnx

STATE_NAME = re.compile(r"(state|hidden|cache|past|present|h0|c0|memory)", re.I)
SIGNAL_OPS = {"STFT", "DFT", "MelWeightMatrix", "HannWindow", "HammingWindow", "BlackmanWindow"}
RECURRENT_OPS = {"LSTM", "GRU", "RNN"}
CONTROL_FLOW_OPS = {"If", "Loop", "Scan"}
LAYERNORM_OPS = {"Pow", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Reciprocal"}
STEM_CHANNELS = 4
WEIGHT_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def layernorm_like_nodes(model: onnx.ModelProto) -> set[str]:
    """Nodes of decomposed LayerNorm / variance arithmetic: x - mean(x), squared, mean, sqrt, divide.

    Quantizing these collapses the tiny variance terms; they stay in float.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    found: set[str] = set()
    for mean in (n for n in model.graph.node if n.op_type == "ReduceMean"):
        for sub in consumers.get(mean.output[0], []):
            if sub.op_type != "Sub" or mean.input[0] not in sub.input:
                continue
            group = {mean.name, sub.name}
            frontier = [sub]
            for _ in range(6):  # walk a few steps: Pow/Mul -> ReduceMean -> Add -> Sqrt -> Div (or Reciprocal -> Mul)
                nxt = []
                for node in frontier:
                    for consumer in consumers.get(node.output[0], []):
                        if consumer.op_type in LAYERNORM_OPS and consumer.name not in group:
                            group.add(consumer.name)
                            nxt.append(consumer)
                frontier = nxt
            if any(n.op_type == "Sqrt" for n in model.graph.node if n.name in group):
                found |= group
    return found


def sensitive_nodes(model: onnx.ModelProto) -> dict[str, str]:
    """Nodes that must stay in float, with the reason: state inputs, signal front ends, recurrent ops,
    control flow, LayerNorm-like arithmetic."""
    reasons: dict[str, str] = {}
    initializers = {i.name for i in model.graph.initializer}
    output_shapes = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    state_inputs = set()
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if STATE_NAME.search(value.name) or (
            len(model.graph.input) > 1
            and shape in output_shapes.values()
            and any(STATE_NAME.search(o) for o in output_shapes)
        ):
            state_inputs.add(value.name)
    for node in model.graph.node:
        if any(i in state_inputs for i in node.input):
            reasons[node.name] = "consumes a recurrent state input"
        elif node.op_type in SIGNAL_OPS:
            reasons[node.name] = "signal-processing front end"
        elif node.op_type in RECURRENT_OPS:
            reasons[node.name] = "recurrent cell (static int8 would quantize its state)"
        elif node.op_type in CONTROL_FLOW_OPS:
            reasons[node.name] = "control flow; its subgraphs stay in float"
    for name in layernorm_like_nodes(model):
        reasons.setdefault(name, "decomposed LayerNorm/variance arithmetic collapses under int8")
    return reasons


def image_stems(model: onnx.ModelProto) -> dict[str, str]:
    """Image stems, with why: convolutions over at most ``STEM_CHANNELS`` channels (gray, RGB, RGBA) that read
    a model input directly or through preprocessing (normalization, casts, transposes: no weight layer).

    Such a layer does little work per activation, so int8's quantize/requantize steps can cost more than
    its int8 arithmetic saves on CPUs: ``quantize`` ``auto`` also measures static int8 with them in float.
    """
    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    for node in model.graph.node:  # some exporters keep weights in Constant nodes (paddle2onnx)
        value = next((a.t for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is not None:
            weights[node.output[0]] = list(value.dims)
    from_input = {i.name for i in model.graph.input} - set(weights)
    found = {}
    for node in model.graph.node:  # graph order is topological
        if not from_input.intersection(node.input):
            continue
        if node.op_type not in WEIGHT_OPS:
            from_input.update(node.output)
            continue
        dims = weights.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if not dims or len(dims) < 3:
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        channels = dims[1] * max(1, group)
        if channels <= STEM_CHANNELS:
            found[node.name] = f"image stem: a convolution over {channels} input channel(s), kept in float"
    return found
