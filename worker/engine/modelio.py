"""Models on disk: loading (ONNX, or torch.export archives exported once), inspection, sessions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from worker.engine.errors import EngineError

FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
EXTERNAL_DATA_THRESHOLD_BYTES = 1900 * 1024**2  # protobuf's 2 GB ceiling, with room for the graph
THRESHOLD_ENV = "SLIMLINE_EXTERNAL_DATA_THRESHOLD_BYTES"  # the worker's setting; tests set it small


def external_data_threshold_bytes() -> int:
    """Above this many bytes a model is saved with its tensors in ``<name>.data`` (the setting, else 1900 MiB)."""
    value = os.environ.get(THRESHOLD_ENV, "")
    return int(value) if value.isdigit() else EXTERNAL_DATA_THRESHOLD_BYTES


@dataclass(frozen=True)
class InputSpec:
    name: str
    dtype: np.dtype
    shape: list[int | str | None]


def _spec(value: onnx.ValueInfoProto) -> InputSpec:
    tensor = value.type.tensor_type
    shape: list[int | str | None] = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim
    ]
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)) if tensor.elem_type else np.dtype("float32")
    return InputSpec(value.name, dtype, shape)


def input_specs(model: onnx.ModelProto) -> list[InputSpec]:
    initializers = {i.name for i in model.graph.initializer}
    return [_spec(value) for value in model.graph.input if value.name not in initializers]


def output_specs(model: onnx.ModelProto) -> list[InputSpec]:
    """The graph's outputs, in order, as name, dtype and shape (a dynamic dimension as a string or None)."""
    return [_spec(value) for value in model.graph.output]


def opset_of(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


# Inputs that carry quantization parameters (scales, zero points), by op type and input index.
_QPARAM_INPUTS = {
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
    "MatMulInteger": (2, 3),
    "ConvInteger": (2, 3),
    "QLinearConv": (1, 2, 4, 5, 6, 7),
    "QLinearMatMul": (1, 2, 4, 5, 6, 7),
}
_INTEGER_WEIGHT_INPUTS = {"DequantizeLinear": (0,), "MatMulInteger": (0, 1), "ConvInteger": (0, 1)}


def parameter_stats(model: onnx.ModelProto) -> tuple[int, float]:
    """(parameters, sparsity) of the model's weights, comparable before and after quantization.

    Parameters are the elements of float initializers and of integer weights (int8/uint8/int32
    initializers fed to DequantizeLinear or integer ops); quantization scales and zero points are
    not parameters. Sparsity is the fraction of weights that are zero (for integer weights: equal
    to their zero point).
    """
    initializers = {init.name: init for init in model.graph.initializer}
    qparams: set[str] = set()
    integer_weights: dict[str, str | None] = {}  # weight -> its zero point's initializer, if any
    for node in model.graph.node:
        for index in _QPARAM_INPUTS.get(node.op_type, ()):
            if index < len(node.input):
                qparams.add(node.input[index])
        for index in _INTEGER_WEIGHT_INPUTS.get(node.op_type, ()):
            if index < len(node.input) and node.input[index] in initializers:
                zero_point_index = 2 if node.op_type == "DequantizeLinear" else index + 2
                zero_point_input = node.input[zero_point_index] if zero_point_index < len(node.input) else None
                integer_weights[node.input[index]] = zero_point_input or None
    # Dynamic quantization multiplies by the weight scale in a Mul after the integer op.
    dynamic_scales = {o for n in model.graph.node if n.op_type == "DynamicQuantizeLinear" for o in n.output[1:2]}
    for node in model.graph.node:
        if node.op_type == "Mul" and dynamic_scales.intersection(node.input):
            qparams.update(i for i in node.input if i in initializers)
    total = zeros = 0
    for name, init in initializers.items():
        if name in qparams:
            continue
        if init.data_type in FLOAT_TYPES:
            array = numpy_helper.to_array(init)
            total += array.size
            zeros += int(np.count_nonzero(array == 0))
        elif name in integer_weights:
            array = numpy_helper.to_array(init)
            zero_point_name = integer_weights[name]
            zero_point: Any = 0
            if zero_point_name in initializers and array.ndim >= 1:
                zero_point = numpy_helper.to_array(initializers[zero_point_name])
                if zero_point.ndim == 1 and zero_point.size == array.shape[0] and array.ndim > 1:
                    zero_point = zero_point.reshape((-1,) + (1,) * (array.ndim - 1))  # per-channel, axis 0
                elif zero_point.size != 1:
                    zero_point = None  # another axis: count exact zeros of the stored values only
            total += array.size
            zeros += int(np.count_nonzero(array == (0 if zero_point is None else zero_point)))
    return total, (zeros / total if total else 0.0)


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Save one file, or model + one external data file beside it (``<name>.data``) above the threshold.

    The threshold is protobuf's 2 GB limit less room for the graph (``external_data_threshold_bytes``).
    """
    data = path.with_name(path.name + ".data")
    data.unlink(missing_ok=True)  # onnx appends to an existing data file
    if model.ByteSize() > external_data_threshold_bytes():
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data.name,
            size_threshold=0,
        )
        # saving moved the tensors' bytes out of ``model``; callers keep using it in memory
        onnx.load_external_data_for_model(model, str(path.parent))
    else:
        onnx.save_model(model, str(path))
    return path


def export_torch_archive(archive: Path, out: Path) -> Path:
    """Export a torch.export .pt2 archive to ONNX once (dynamo exporter).

    The upload was vetted by app.uploads.validation (no pickled objects beyond tensors); the same check
    runs again here before torch touches the file.
    """
    from app.core.safety import RefusedFile
    from app.core.safety.torch_archive import inspect_torch_archive

    try:
        inspect_torch_archive(archive)
    except RefusedFile as exc:
        raise EngineError("unsafe_model", exc.message) from None
    import torch

    try:
        program = torch.export.load(str(archive))
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad archive
        raise EngineError("invalid_model", f"the torch.export archive cannot be loaded: {exc}") from None
    example = program.example_inputs[0] if program.example_inputs else None
    if example is None:
        raise EngineError("invalid_model", "the archive has no example inputs; save it from torch.export.export(...)")
    try:
        exported = torch.onnx.export(program, example, dynamo=True, external_data=False, optimize=True)
        assert exported is not None  # the dynamo exporter always returns its program
        exported.save(str(out), external_data=exported.model_proto.ByteSize() > external_data_threshold_bytes())
    except Exception as exc:  # noqa: BLE001 - exporter failures name the unsupported op in their message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError("export_failed", f"the program could not be exported to ONNX: {first}") from None
    return out


def load(path: Path) -> onnx.ModelProto:
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf errors
        raise EngineError("invalid_model", f"not a valid ONNX model: {exc}") from None


def providers_for(device: str) -> list[str]:
    """Execution providers for the target; a cuda target on a worker without a GPU is an error, not a CPU run."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise EngineError(
                "no_gpu",
                "target device cuda was requested but this worker has no GPU (CUDAExecutionProvider is not "
                f"available; providers here: {', '.join(available)}). Run the job on a worker of the gpu queue.",
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


_arena_limit_bytes: int | None = None


def limit_arena(max_bytes: int) -> None:
    """Make this process's sessions share one CPU arena of at most ``max_bytes``, grown only by what is asked.

    Call once per process, before any session: the worker calls it in each job's process (worker/jobproc.py),
    so a tensor beyond the job's memory limit is refused by onnxruntime instead of being allocated.
    """
    global _arena_limit_bytes
    import onnxruntime as ort

    same_as_requested = 1  # kSameAsRequested: the default kNextPowerOfTwo would double a 3 GB request to 4 GB
    config = ort.OrtArenaCfg(max_bytes, same_as_requested, -1, -1)
    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, config)
    _arena_limit_bytes = max_bytes


def session_options() -> Any:
    """Session options every session of the engine starts from: quiet, and on the capped arena when there is one."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if _arena_limit_bytes is not None:
        options.add_session_config_entry("session.use_env_allocators", "1")
    return options


def session(path: Path, *, device: str, threads: int, optimization: str = "all") -> Any:
    """An onnxruntime session with a fixed thread count (so measurements are comparable)."""
    import onnxruntime as ort

    options = session_options()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[optimization]
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers_for(device))
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError("model_load_failed", f"onnxruntime cannot load the model: {message}") from None


def copy(source: Path, dest: Path) -> Path:
    """Copy a model; one with external data (``<name>.data`` beside it) is loaded and saved again, so its
    data file follows ``dest``'s name whatever location the source's tensors named."""
    import shutil

    if not source.with_name(source.name + ".data").exists():
        shutil.copyfile(source, dest)
        dest.with_name(dest.name + ".data").unlink(missing_ok=True)
        return dest
    return save(load(source), dest)
