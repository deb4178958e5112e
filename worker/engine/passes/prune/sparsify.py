"""Unstructured magnitude pruning, directly on ONNX initializers (no torch needed).

Zeros in a dense tensor do not make dense runtimes faster: the gain is the compressed size, which is
what the summary reports (deflate, as in a .zip or gzip transfer), next to the plain file size.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

WEIGHT_OPS = {"Conv": (1,), "ConvTranspose": (1,), "Gemm": (0, 1), "MatMul": (0, 1)}


@dataclass
class WeightTensor:
    initializer: str
    nodes: list[str]
    op_type: str
    shape: list[int]


def weight_tensors(model: onnx.ModelProto) -> list[WeightTensor]:
    """Float32 weight initializers (rank >= 2) of Conv/Gemm/MatMul nodes, in graph order."""
    inits = {i.name: i for i in model.graph.initializer}
    found: dict[str, WeightTensor] = {}
    for node in model.graph.node:
        for position in WEIGHT_OPS.get(node.op_type, ()):
            if position >= len(node.input):
                continue
            init = inits.get(node.input[position])
            if init is None or init.data_type != TensorProto.FLOAT or len(init.dims) < 2:
                continue
            entry = found.setdefault(init.name, WeightTensor(init.name, [], node.op_type, list(init.dims)))
            entry.nodes.append(node.name)
    return list(found.values())


def deflate_size(path: Path) -> int:
    """Bytes of the file compressed with deflate (zlib level 6, as zip and gzip use by default)."""
    return len(zlib.compress(path.read_bytes(), 6))


def masks_for(arrays: dict[str, np.ndarray], sparsity: float, scope: str) -> dict[str, np.ndarray]:
    """Boolean keep-masks: the smallest-magnitude ``sparsity`` fraction set to False (globally or per tensor)."""
    masks: dict[str, np.ndarray] = {}
    if scope == "global":
        flat = np.concatenate([np.abs(a).reshape(-1) for a in arrays.values()]) if arrays else np.zeros(0)
        k = int(np.floor(sparsity * flat.size))
        keep = np.ones(flat.size, bool)
        if k:
            keep[np.argpartition(flat, k - 1)[:k]] = False
        offset = 0
        for name, array in arrays.items():
            masks[name] = keep[offset : offset + array.size].reshape(array.shape)
            offset += array.size
        return masks
    for name, array in arrays.items():
        flat = np.abs(array).reshape(-1)
        k = int(np.floor(sparsity * flat.size))
        keep = np.ones(flat.size, bool)
        if k:
            keep[np.argpartition(flat, k - 1)[:k]] = False
        masks[name] = keep.reshape(array.shape)
    return masks


def apply(model: onnx.ModelProto, masks: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Zero the masked weights in place; return per-tensor sparsity before and after."""
    rows = []
    for init in model.graph.initializer:
        if init.name not in masks:
            continue
        array = numpy_helper.to_array(init)
        before = float(np.mean(array == 0))
        pruned = np.where(masks[init.name], array, 0).astype(array.dtype)
        init.CopyFrom(numpy_helper.from_array(pruned, init.name))
        rows.append({"initializer": init.name, "sparsity_before": before, "sparsity": float(np.mean(pruned == 0))})
    return rows
