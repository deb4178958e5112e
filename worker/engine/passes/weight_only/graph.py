"""What the ``weight_only`` pass does to the graph around onnxruntime's quantizer: Gemm layers with constant
weights become MatMul (+ Add), a constant weight read through a Transpose is stored transposed, and the
layers the quantizer can take (MatMul with a constant 2-D weight, embedding Gather) are listed by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

QUANTIZED_OPS = {"MatMulNBits", "GatherBlockQuantized"}


@dataclass
class Layers:
    """The graph's quantizable layers by node name, the head (the last MatMul), and the embedding tables."""

    matmuls: dict[str, tuple[int, int]]  # node -> weight shape (in, out)
    lm_head: str | None
    embeddings: dict[str, tuple[int, int]]  # node -> table shape (vocabulary, width)


def _attr(node: onnx.NodeProto, name: str, default: float | int) -> float | int:
    found = next((a for a in node.attribute if a.name == name), None)
    return default if found is None else onnx.helper.get_attribute_value(found)


def gemms_to_matmuls(model: onnx.ModelProto) -> int:
    """Rewrite ``Gemm(A, W[, C])`` with a constant W (no transA, alpha = beta = 1) as ``MatMul(A, W') [+ C]``.

    MatMulNBits replaces MatMul only; GPT-2's Conv1D and many Linear exports come out as Gemm. Returns the
    number rewritten (in the main graph; subgraphs keep their Gemms).
    """
    inits = {i.name: i for i in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    rewritten = 0
    for node in model.graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "Gemm" and len(node.input) > 1 else None
        plain = _attr(node, "transA", 0) == 0 and _attr(node, "alpha", 1.0) == 1.0 and _attr(node, "beta", 1.0) == 1.0
        if weight is None or not plain or len(weight.dims) != 2:
            nodes.append(node)
            continue
        if _attr(node, "transB", 0):
            transposed = numpy_helper.from_array(
                np.ascontiguousarray(numpy_helper.to_array(weight).T), f"{weight.name}_transposed"
            )
            model.graph.initializer.append(transposed)
            inits[transposed.name] = transposed
            weight = transposed
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        product = f"{node.output[0]}_matmul" if bias else node.output[0]
        nodes.append(onnx.helper.make_node("MatMul", [node.input[0], weight.name], [product], name=node.name))
        if bias:
            nodes.append(onnx.helper.make_node("Add", [product, bias], [node.output[0]], name=f"{node.name}_bias"))
        rewritten += 1
    if rewritten:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return rewritten


def fold_weight_transposes(model: onnx.ModelProto) -> int:
    """A 2-D constant weight read by MatMul through ``Transpose`` is stored transposed (a tied LM head reads
    the embedding table so); the table itself stays for its other readers. Returns how many were folded."""
    inits = {i.name: i for i in model.graph.initializer}
    transposes = {
        n.output[0]: n
        for n in model.graph.node
        if n.op_type == "Transpose" and n.input[0] in inits and len(inits[n.input[0]].dims) == 2
    }
    folded = 0
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in transposes:
            table = inits[transposes[node.input[1]].input[0]]
            name = f"{table.name}_transposed"
            if name not in inits:
                inits[name] = numpy_helper.from_array(np.ascontiguousarray(numpy_helper.to_array(table).T), name)
                model.graph.initializer.append(inits[name])
            node.input[1] = name
            folded += 1
    if folded:  # Transposes no longer read by anyone go
        used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
        keep = [n for n in model.graph.node if n.op_type != "Transpose" or n.output[0] in used]
        del model.graph.node[:]
        model.graph.node.extend(keep)
        _drop_unused_initializers(model)
    return folded


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {i for n in model.graph.node for i in n.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def layers(model: onnx.ModelProto) -> Layers:
    """The MatMuls with a constant 2-D weight, the last of them in graph order (the head), and the Gathers
    that read a constant 2-D table with a computed index (token embeddings)."""
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    matmuls: dict[str, tuple[int, int]] = {}
    embeddings: dict[str, tuple[int, int]] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(inits.get(node.input[1], ())) == 2 and node.input[0] not in inits:
            matmuls[node.name] = inits[node.input[1]]  # type: ignore[assignment]
        elif (
            node.op_type == "Gather"
            and len(inits.get(node.input[0], ())) == 2
            and node.input[1] not in inits
            and _attr(node, "axis", 0) == 0
        ):
            embeddings[node.name] = inits[node.input[0]]  # type: ignore[assignment]
    return Layers(matmuls, next(reversed(matmuls), None), embeddings)


def quantized_nodes(model: onnx.ModelProto) -> dict[str, str]:
    """The MatMulNBits / GatherBlockQuantized nodes of a quantized graph: name -> op type."""
    return {n.name: n.op_type for n in model.graph.node if n.op_type in QUANTIZED_OPS}
