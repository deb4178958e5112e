"""Multiply-accumulate counts of Conv / Gemm / MatMul nodes from ONNX shapes, and a model file's static facts.

Counted per sample: a symbolic (dynamic) batch counts as 1; other open axes take the sizes of a real
sample when the caller gives them (a job does), else 1. Nodes whose shapes cannot be inferred are
counted as unknown, and the result says how many.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

CONV_OPS = {"Conv", "ConvInteger", "ConvTranspose"}
MATMUL_OPS = {"MatMul", "MatMulInteger", "Gemm"}


@dataclass
class MacCount:
    macs: int
    counted_nodes: int
    unknown_nodes: list[str]

    def as_dict(self) -> dict[str, object]:
        return {"macs": self.macs, "counted_nodes": self.counted_nodes, "unknown_nodes": self.unknown_nodes}


def _shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - counting is best effort on odd graphs
        inferred = model
    graph = inferred.graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        tensor = value.type.tensor_type
        if value.type.HasField("tensor_type") and tensor.HasField("shape"):
            shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in tensor.shape.dim]
    return shapes


def _with_sample_shapes(model: onnx.ModelProto, sample_shapes: dict[str, tuple[int, ...]]) -> onnx.ModelProto:
    """A copy whose open input axes take a real sample's sizes (batch 1), so that an image model with an
    open height/width is counted at the size it is used at, not at 1x1."""
    model = copy.deepcopy(model)
    for value in model.graph.input:
        shape = sample_shapes.get(value.name)
        dims = value.type.tensor_type.shape.dim
        if shape is None or len(shape) != len(dims):
            continue
        for axis, (dim, size) in enumerate(zip(dims, shape, strict=True)):
            if not dim.HasField("dim_value"):
                dim.Clear()
                dim.dim_value = 1 if axis == 0 else int(size)
    return model


def count(model: onnx.ModelProto, sample_shapes: dict[str, tuple[int, ...]] | None = None) -> MacCount:
    """MACs per sample; ``sample_shapes`` (input -> a real feed's shape) sizes the open axes but the batch."""
    if sample_shapes:
        model = _with_sample_shapes(model, sample_shapes)
    shapes = _shapes(model)
    total, counted, unknown = 0, 0, []
    for node in model.graph.node:
        if node.op_type not in CONV_OPS | MATMUL_OPS:
            continue
        a = shapes.get(node.input[0])
        w = shapes.get(node.input[1])
        out = shapes.get(node.output[0])
        if a is None or w is None or out is None or 0 in w:
            unknown.append(node.name)
            continue
        if node.op_type in CONV_OPS:
            # an output element sums over (input channels / groups) × the kernel window: W's dims after the first
            if node.op_type == "ConvTranspose":
                macs = int(np.prod(a)) * int(np.prod(w[1:]))
            else:
                macs = int(np.prod(out)) * int(np.prod(w[1:]))
        elif node.op_type == "Gemm":
            trans_a = next((int(at.i) for at in node.attribute if at.name == "transA"), 0)
            k = a[0] if trans_a else a[-1]
            macs = int(np.prod(out)) * k
        else:
            macs = int(np.prod(out)) * a[-1]
        total += macs
        counted += 1
    return MacCount(total, counted, unknown)


def model_facts(path: Path, sample_shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """What a model file is, without running it: size, parameters, zero fraction, MACs per sample (open
    axes other than the batch at ``sample_shapes``' sizes when given, else 1)."""
    from worker.engine import evaluate, modelio
    from worker.engine.graph import repair

    model = modelio.load(path)
    repair.fold_constants_to_initializers(model)  # exporters such as paddle2onnx keep weights in Constant nodes
    parameters, sparsity = modelio.parameter_stats(model)
    counted = count(model, sample_shapes)
    return {
        "size_bytes": evaluate.file_size(path),
        "parameter_count": parameters,
        "sparsity": sparsity,
        "macs": counted.macs,
        **({"macs_unknown_nodes": counted.unknown_nodes} if counted.unknown_nodes else {}),
    }
