"""An indexed view of an ONNX graph: producers, consumers, constants and inferred shapes (no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from worker.engine.graph import repair


@dataclass
class GraphIndex:
    model: onnx.ModelProto
    constants: dict[str, np.ndarray]
    producers: dict[str, onnx.NodeProto]
    consumers: dict[str, list[onnx.NodeProto]]
    shapes: dict[str, list[int | str | None]]
    inputs: list[str]
    outputs: list[str]
    notes: list[str] = field(default_factory=list)

    def attr(self, node: onnx.NodeProto, name: str, default: Any = None) -> Any:
        for attribute in node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def rank(self, name: str) -> int | None:
        shape = self.shapes.get(name)
        return None if shape is None else len(shape)

    def const_ints(self, name: str) -> list[int] | None:
        """An int initializer as a Python list (axes, shapes, pads given as inputs); None when computed."""
        if not name or name not in self.constants:
            return None
        return [int(v) for v in np.asarray(self.constants[name]).reshape(-1)]


def _copy_aliased_weights(model: onnx.ModelProto) -> int:
    """Identity(initializer) -> an initializer of its own (the TorchScript exporter deduplicates equal
    weights that way); each user then owns a weight it can prune or train. Returns how many."""
    graph = model.graph
    stored = {init.name: init for init in graph.initializer}
    aliases = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in stored]
    for node in aliases:
        copy = onnx.TensorProto()
        copy.CopyFrom(stored[node.input[0]])
        copy.name = node.output[0]
        graph.initializer.append(copy)
        graph.node.remove(node)
    return len(aliases)


def index(model: onnx.ModelProto) -> GraphIndex:
    """Fold Constant nodes into initializers, give nodes unique names, infer shapes, and index the graph."""
    notes = []
    renamed = repair.unique_node_names(model)
    if renamed:
        notes.append(f"gave {renamed} node(s) unique names")
    repair.fold_constants_to_initializers(model)
    aliases = _copy_aliased_weights(model)
    if aliases:
        notes.append(f"stored {aliases} weight(s) that the exporter shared through Identity nodes as copies")
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shapes are a help for the rewrites, not a requirement
        notes.append("ONNX shape inference failed; Reshape rewrites are limited to what the graph states")
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    producers: dict[str, onnx.NodeProto] = {}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for out in node.output:
            producers[out] = node
        for name in node.input:
            if name:
                consumers.setdefault(name, []).append(node)
    shapes: dict[str, list[int | str | None]] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in value.type.tensor_type.shape.dim
            ]
    inputs = [v.name for v in graph.input if v.name not in constants]
    return GraphIndex(model, constants, producers, consumers, shapes, inputs, [o.name for o in graph.output], notes)
