"""Repairs that real exported models need before onnxruntime's tools can handle them.

Each function returns what it did, so the report can say so.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import onnx
from onnx import version_converter


def unique_node_names(model: onnx.ModelProto) -> int:
    """Give every node a unique, non-empty name (some exporters emit duplicates; some tools reject them)."""
    seen: Counter[str] = Counter()
    renamed = 0
    for index, node in enumerate(model.graph.node):
        base = node.name or f"{node.op_type}_{index}"
        name = base if not seen[base] else f"{base}__{seen[base]}"
        seen[base] += 1
        if name != node.name:
            node.name = name
            renamed += 1
    return renamed


def fold_constants_to_initializers(model: onnx.ModelProto) -> int:
    """Turn tensor-valued Constant nodes into initializers (dynamic quantization needs weights there)."""
    graph = model.graph
    keep, folded = [], 0
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value"), None)
        if (
            node.op_type == "Constant"
            and node.domain in ("", "ai.onnx")
            and value is not None
            and len(node.attribute) == 1
        ):
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value.t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
            folded += 1
        else:
            keep.append(node)
    if folded:
        del graph.node[:]
        graph.node.extend(keep)
    return folded


def ensure_opset(model: onnx.ModelProto, minimum: int) -> tuple[onnx.ModelProto, int | None]:
    """Convert to ``minimum`` when older (per-channel QDQ needs DequantizeLinear's axis, opset 13)."""
    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if current >= minimum:
        return model, None
    return version_converter.convert_version(model, minimum), current


def pre_process(model_path: Path, out_path: Path) -> list[str]:
    """onnxruntime's quant_pre_process, falling back without symbolic shape inference, then without it at all.

    Runs in a scratch directory (it writes temporary files into the working directory).
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    notes = []
    attempts = [{}, {"skip_symbolic_shape": True}, {"skip_symbolic_shape": True, "skip_optimization": True}]
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="slimline-prep-") as scratch:
        os.chdir(scratch)
        try:
            for options in attempts:
                try:
                    quant_pre_process(str(model_path), str(out_path), **options)
                    if options:
                        notes.append(f"quant_pre_process needed {', '.join(options)} on this graph")
                    return notes
                except Exception as exc:  # noqa: BLE001 - the pre-processor raises many types on real graphs
                    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                    notes.append(f"quant_pre_process failed ({first})")
        finally:
            os.chdir(cwd)
    out_path.write_bytes(model_path.read_bytes())
    notes.append("quantizing without pre-processing")
    return notes
