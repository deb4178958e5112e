"""Lift an ONNX graph to ``torch.nn`` (our own converter) and export it back to ONNX.

Why not onnx2torch: its wheel requires torchvision, which fails to import beside our torch pin
(STACK.md), and it lacks opset-18 ReduceMean and ``Reshape(allowzero=1)``. The ops that matter for
pruning (Conv, Gemm, MatMul(+Add), BatchNorm, LayerNorm, activations, pools, reductions, shape
arithmetic) are a few lines each, handle every opset's form directly (axes as attribute or input,
``allowzero``), and produce real ``nn.Conv2d``/``nn.Linear`` modules that Torch-Pruning understands.

Importing this package imports torch: the prune pass imports it inside its functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from worker.engine.errors import EngineError
from worker.engine.lift import channels
from worker.engine.lift.graph import index
from worker.engine.lift.module import Lifted, LiftedGraph
from worker.engine.lift.ops import CONVERTERS, unsupported

__all__ = ["Lifted", "LiftedGraph", "export_onnx", "fixed_dims", "lift", "supported_ops", "verify"]


def supported_ops() -> list[str]:
    return sorted(CONVERTERS)


def lift(model: onnx.ModelProto) -> Lifted:
    """The graph as a LiftedGraph in eval mode, with which layers may lose channels and why not.

    Raises EngineError ``unsupported_op`` naming the first node that cannot be lifted.
    """
    g = index(model)
    for node in g.model.graph.node:  # fail before building anything, naming the op
        if node.domain not in ("", "ai.onnx"):
            raise unsupported(node, f"custom domain {node.domain!r}")
        if node.op_type not in CONVERTERS:
            raise unsupported(node, "no converter for this op")
    module = LiftedGraph(g.inputs, g.outputs)
    lifted = Lifted(module)
    fused: set[str] = set()
    for node in g.model.graph.node:
        if node.name in fused:
            continue
        key = CONVERTERS[node.op_type](g, node, module, fused)
        if key is not None and node.op_type in channels.LAYERS:
            lifted.layer_ops[key] = node.op_type
            step = module.steps[-1]
            reason = channels.blockers(g, node, step.outputs[0])
            if reason is not None:
                lifted.blocked[key] = reason
    lifted.notes = g.notes
    module.eval()
    return lifted


def verify(
    module: torch.nn.Module, examples: tuple[torch.Tensor, ...], expected: list[np.ndarray], names: list[str]
) -> None:
    """Check that the lifted module computes what onnxruntime computes on ``examples``; EngineError if not."""
    try:
        with torch.no_grad():
            result = module(*examples)
    except Exception as exc:  # noqa: BLE001 - any failure here means the lift is wrong for this graph
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise EngineError("lift_failed", f"the model lifted to PyTorch does not run: {first}") from None
    outputs = list(result) if isinstance(result, tuple) else [result]
    for name, want, got in zip(names, expected, outputs, strict=True):
        value = got.detach().cpu().numpy()
        scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
        if value.shape != want.shape or not np.allclose(value, want, rtol=1e-3, atol=1e-4 * scale):
            error = float(np.max(np.abs(value - want))) if value.shape == want.shape else float("nan")
            raise EngineError(
                "lift_mismatch",
                f"the model lifted to PyTorch disagrees with onnxruntime on output {name!r} (shape "
                f"{list(value.shape)} vs {list(want.shape)}, max abs error {error:.3g}); pruning it would not be "
                "faithful. Unstructured pruning (method: unstructured) works on any graph.",
            )


def _symbolic_dims(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Input name -> the axes whose size the graph leaves open (dim_param or no value)."""
    initializers = {i.name for i in model.graph.initializer}
    result = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        result[value.name] = [i for i, d in enumerate(dims) if not d.HasField("dim_value")]
    return result


def fixed_dims(original: onnx.ModelProto, exported: Path) -> list[str]:
    """Open input axes of the original that the export fixed (torch specialized them), as sentences."""
    model = onnx.load(str(exported))
    after = _symbolic_dims(model)
    shapes = {v.name: v.type.tensor_type.shape.dim for v in model.graph.input}
    return [
        f"input {name!r} axis {axis} is fixed at {shapes[name][axis].dim_value} in the pruned model (it was open "
        "in the original; the traced graph depends on its size)"
        for name, axes in _symbolic_dims(original).items()
        for axis in axes
        if name in after and axis not in after[name]
    ]


def export_onnx(
    module: torch.nn.Module, original: onnx.ModelProto, examples: tuple[torch.Tensor, ...], out: Path
) -> Path:
    """Export ``module`` with the original's input/output names and open axes (dynamo, one file).

    The batch axis must stay open (the export fails otherwise); other open axes (an OCR model's image width,
    a sequence length) stay open where the traced graph allows it: :func:`fixed_dims` says where not.
    """
    import logging

    symbolic = _symbolic_dims(original)
    inputs = list(symbolic)
    outputs = [o.name for o in original.graph.output]
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    attempts: list[Any] = [  # every open axis, then (if the trace cannot keep the others open) the batch only
        tuple({axis: batch if axis == 0 else torch.export.Dim.AUTO for axis in symbolic[name]} for name in inputs),
        tuple({0: batch} if 0 in symbolic[name] else {} for name in inputs),
    ]
    if not any(len(axes) > 1 or (axes and axes[0] != 0) for axes in symbolic.values()):
        attempts = attempts[1:]
    module = module.eval().cpu()
    previous = logging.getLogger("torch.onnx").level
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    failure = None
    try:
        for shapes in attempts:
            try:
                program = torch.onnx.export(
                    module,
                    examples,
                    input_names=inputs,
                    output_names=outputs,
                    dynamic_shapes=(shapes,) if any(shapes) else None,  # forward(*args): one entry, the args
                    dynamo=True,
                    external_data=False,
                    optimize=True,
                    verbose=False,
                )
                assert program is not None  # the dynamo exporter always returns its program
                program.save(str(out), external_data=False)
                return out
            except Exception as exc:  # noqa: BLE001 - exporter failures name the op in their message
                cause = exc.__cause__ or exc  # torch wraps the reason in a long "how to report" text
                # the batch-only attempt's reason is the one that matters
                failure = str(cause).strip().splitlines()[0][:300] if str(cause).strip() else type(cause).__name__
    finally:
        logging.getLogger("torch.onnx").setLevel(previous)
    raise EngineError("export_failed", f"the pruned model could not be exported to ONNX: {failure}")
