"""ONNX validation: checker + strict shape inference + our own rules."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper

from app.core.errors import InvalidModel, UnsafeModel
from app.core.schemas.tensors import Dim, TensorSpec

MIN_OPSET, MAX_OPSET = 7, 23
KNOWN_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}
FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}


@dataclass(frozen=True)
class ModelInfo:
    format: Literal["onnx", "torch_export"]
    opset: int | None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    parameter_count: int
    warnings: list[str] = field(default_factory=list)
    packed: bool = False  # an archive with external data, repacked as model.onnx + model.onnx.data


def _dtype_name(elem_type: int) -> str:
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return TensorProto.DataType.Name(elem_type).lower()


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    if not value.type.HasField("tensor_type"):
        raise InvalidModel(f"graph input/output {value.name!r} is not a tensor; only tensor inputs are supported")
    tensor = value.type.tensor_type
    shape: list[Dim] = []
    if tensor.HasField("shape"):
        for dim in tensor.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(int(dim.dim_value))
            elif dim.HasField("dim_value"):  # some exporters (Paddle) write -1 or 0 for "any size"
                shape.append(None)
            else:
                shape.append(dim.dim_param or None)
    return TensorSpec(name=value.name, dtype=_dtype_name(tensor.elem_type), shape=shape)


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[TensorProto]:
    """Every tensor a graph holds: initializers (dense and sparse) and node attributes, subgraphs included."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    yield from _node_tensors(graph.node)


def _node_tensors(nodes: Iterable[onnx.NodeProto]) -> Iterator[TensorProto]:
    for node in nodes:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield from (attr.sparse_tensor.values, attr.sparse_tensor.indices)
            for sparse in attr.sparse_tensors:
                yield from (sparse.values, sparse.indices)
            if attr.HasField("g"):  # If branches, Loop and Scan bodies, nested to any depth
                yield from _graph_tensors(attr.g)
            for subgraph in attr.graphs:
                yield from _graph_tensors(subgraph)


def all_tensors(model: onnx.ModelProto) -> Iterator[TensorProto]:
    yield from _graph_tensors(model.graph)
    for function in model.functions:
        yield from _node_tensors(function.node)


def _check_external_data(model: onnx.ModelProto) -> None:
    """Refuse external data anywhere in the model (subgraphs and functions included), by name alone.

    We accept one file, so no external location can be valid. The decision never looks at the file
    system: a name that exists next to the API and one that does not get the same answer, so an
    upload cannot probe for files, and the checker never sees a location to resolve (docs/security.md).
    """
    for tensor in all_tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL and not tensor.external_data:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        normalized = os.path.normpath(location)
        if (
            not location
            or os.path.isabs(location)
            or normalized.startswith("..")
            or "\\" in location
            or "\0" in location
        ):
            raise UnsafeModel(
                f"tensor {tensor.name!r} points at external data {location!r} outside the model's directory; refused"
            )
        raise InvalidModel(
            f"tensor {tensor.name!r} keeps its data in an external file ({location!r}); upload the model and its "
            "data files together: as one zip or tar archive, or in one request with each data file as a `data` "
            "part beside the `file` part (models only), or as a single-file model"
        )


def inspect_onnx(path: Path) -> ModelInfo:
    """Validate an ONNX file and describe its signature. Raises InvalidModel / UnsafeModel."""
    if path.stat().st_size == 0:
        raise InvalidModel("the file is empty; expected an ONNX model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for corrupt input
        raise InvalidModel(f"not a valid ONNX model: {exc}") from None
    _check_graph_present(model)
    _check_external_data(model)
    return describe(model)


def _check_graph_present(model: onnx.ModelProto) -> None:
    if not model.graph.node:
        raise InvalidModel("the model has no nodes (an empty or non-ONNX file parses as an empty model)")
    if not model.graph.output:
        raise InvalidModel("the model declares no outputs")


def describe(model: onnx.ModelProto) -> ModelInfo:
    """Check a parsed model (opset, domains, checker, strict shape inference) and describe its signature.

    External data is not read: its tensors are checked against their files by the caller first.
    """
    _check_graph_present(model)
    warnings: list[str] = []
    domains = {o.domain: o.version for o in model.opset_import}
    default = domains.get("", domains.get("ai.onnx"))
    if default is None:
        raise InvalidModel("the model imports no default ONNX opset")
    if not MIN_OPSET <= default <= MAX_OPSET:
        raise InvalidModel(f"opset {default} is outside the supported range {MIN_OPSET}..{MAX_OPSET}")
    used = {node.domain for node in model.graph.node}
    unknown = sorted(d for d in used | set(domains) if d not in KNOWN_DOMAINS)
    if unknown:
        raise InvalidModel(
            f"operators from unknown domain(s) {', '.join(map(repr, unknown))}; custom ops cannot be run"
        )
    if model.ir_version < 3:
        raise InvalidModel(f"IR version {model.ir_version} is too old")
    try:
        onnx.checker.check_model(model, full_check=False)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - checker and inference raise ValidationError/InferenceError and friends
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidModel(f"the ONNX checker rejected the model: {message}") from None
    initializers = {init.name for init in model.graph.initializer}
    inputs = [_spec(v) for v in model.graph.input if v.name not in initializers]
    if not inputs:
        raise InvalidModel("the model declares no inputs")
    outputs = [_spec(v) for v in model.graph.output]
    # Parameters: elements of floating-point initializers (weights, biases, norms), as users count them.
    parameter_count = sum(
        int(np.prod(init.dims, dtype=np.int64)) for init in model.graph.initializer if init.data_type in FLOAT_TYPES
    )
    if any(node.op_type in ("If", "Loop", "Scan") for node in model.graph.node):
        warnings.append("the model has control-flow subgraphs (If/Loop/Scan); they are kept in float")
    return ModelInfo("onnx", int(default), inputs, outputs, parameter_count, warnings)
