"""The transfer pass's graph surgery (no torch): find the head, cut the backbone, attach a new head.

The head is the last classifier layer: walking back from a graph output through ops that only reshape or
normalise scores (Softmax, LogSoftmax, Identity, Flatten, a bias Add), the first Gemm, or MatMul with a
constant weight. Its data input is the feature tensor the new head reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from worker.engine.errors import EngineError

# ops between the classifier layer and the output that do not change which class wins
_AFTER_HEAD = frozenset({"Softmax", "LogSoftmax", "Identity", "Flatten", "Reshape", "Squeeze", "Add"})


@dataclass
class Head:
    """Where the old head was: the tensor it read, the output it fed, and what came after it."""

    feature: str
    output: str  # the graph output the new head replaces (its name is kept)
    node: str | None  # the classifier node (None when ``feature`` was named by the recipe)
    old_classes: int | None
    activation: str | None  # "Softmax" or "LogSoftmax" when the original output was normalised
    dropped_outputs: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "replaced_output": self.output,
            "old_head_node": self.node,
            "old_classes": self.old_classes,
            "output_activation": self.activation,
            "dropped_outputs": self.dropped_outputs,
        }


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    for init in model.graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            return numpy_helper.to_array(node.attribute[0].t) if node.attribute else None
    return None


def _classifier_width(model: onnx.ModelProto, node: onnx.NodeProto) -> int | None:
    weight = _constant(model, node.input[1]) if len(node.input) > 1 else None
    if weight is None or weight.ndim != 2:
        return None
    trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0) if node.op_type == "Gemm" else 0
    return int(weight.shape[0] if trans_b else weight.shape[1])


def find_head(model: onnx.ModelProto, feature: str | None) -> Head:
    """The classifier head of ``model`` (or the named ``feature`` tensor); EngineError ``no_classifier_head``."""
    producers = {out: node for node in model.graph.node for out in node.output}
    outputs = [o.name for o in model.graph.output]
    for output in outputs:
        name, activation = output, None
        while name in producers:
            node = producers[name]
            if node.op_type in ("Gemm", "MatMul") and _classifier_width(model, node) is not None:
                if feature is not None:
                    break
                dropped = [o for o in outputs if o != output]
                return Head(node.input[0], output, node.name, _classifier_width(model, node), activation, dropped)
            if node.op_type not in _AFTER_HEAD:
                break
            if node.op_type in ("Softmax", "LogSoftmax"):
                activation = activation or node.op_type
            data = [i for i in node.input if i and _constant(model, i) is None]
            if len(data) != 1:
                break
            name = data[0]
        if feature is not None and (feature in producers or feature in {i.name for i in model.graph.input}):
            dropped = outputs[1:]
            return Head(feature, outputs[0], None, None, None, dropped)
    if feature is not None:
        raise EngineError("invalid_recipe", f"transfer.feature names no tensor of the model: {feature!r}")
    raise EngineError(
        "no_classifier_head",
        "the model has no classifier layer to replace: no graph output comes from a Gemm or MatMul with a "
        "constant weight (through Softmax, a bias Add or a reshape at most). Name the tensor the new head "
        "should read with transfer.feature.",
    )


def backbone(model: onnx.ModelProto, head: Head) -> onnx.ModelProto:
    """The graph from the model's inputs to the feature tensor (its only output), with the same inputs."""
    inputs = [i.name for i in model.graph.input if _constant(model, i.name) is None]
    model = onnx.shape_inference.infer_shapes(model)
    extracted = onnx.utils.Extractor(model).extract_model(inputs, [head.feature])
    for value in extracted.graph.input:  # keep the original's open axes (the extractor copies value infos)
        original = next(v for v in model.graph.input if v.name == value.name)
        value.CopyFrom(original)
    del extracted.opset_import[:]
    extracted.opset_import.extend(model.opset_import)
    extracted.ir_version = model.ir_version
    out = extracted.graph.output[0]
    dims = out.type.tensor_type.shape.dim
    if dims:  # the batch axis stays open whatever the trace saw
        dims[0].ClearField("dim_value")
        dims[0].dim_param = "batch"
    return extracted


def attach_head(
    body: onnx.ModelProto, head: Head, weight: np.ndarray, bias: np.ndarray, *, regression: bool = False
) -> onnx.ModelProto:
    """``body`` (inputs -> feature) with a new Gemm (``weight`` [K, D], ``bias`` [K]) producing the output.

    A feature of rank > 2 is flattened first. A Softmax/LogSoftmax the original applied to its scores is
    applied again, so the output means what it meant (scores over the new classes).
    """
    model = onnx.ModelProto()
    model.CopyFrom(body)
    graph = model.graph
    feature = graph.output[0].name
    rank = len(graph.output[0].type.tensor_type.shape.dim)
    prefix = "transfer_head"
    nodes = []
    if rank != 2:
        nodes.append(helper.make_node("Flatten", [feature], [f"{prefix}.flat"], axis=1, name=f"{prefix}_flatten"))
        feature = f"{prefix}.flat"
    scores = head.output if head.activation is None or regression else f"{prefix}.scores"
    nodes.append(
        helper.make_node("Gemm", [feature, f"{prefix}.weight", f"{prefix}.bias"], [scores], transB=1, name=prefix)
    )
    if scores != head.output:
        assert head.activation is not None
        nodes.append(helper.make_node(head.activation, [scores], [head.output], axis=-1, name=f"{prefix}_activation"))
    graph.node.extend(nodes)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.ascontiguousarray(weight, np.float32), f"{prefix}.weight"),
            numpy_helper.from_array(np.ascontiguousarray(bias, np.float32), f"{prefix}.bias"),
        ]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(head.output, TensorProto.FLOAT, ["batch", int(weight.shape[0])]))
    onnx.checker.check_model(model)
    return model
