"""Small real models and datasets, built by the tests themselves (no binary files in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def _export(module, example: tuple, path: Path, *, input_names, output_names, dynamic_batch: bool) -> Path:
    import torch

    module.eval()
    dynamic_shapes = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1, max=4096)
        dynamic_shapes = tuple({0: batch} for _ in example)
    torch.onnx.export(
        module,
        example,
        str(path),
        input_names=input_names,
        output_names=output_names,
        dynamic_shapes=dynamic_shapes,
        external_data=False,
        dynamo=True,
        verbose=False,
    )
    return path


def small_cnn(num_classes: int = 10, channels: int = 16):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.Conv2d(channels, channels * 2, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(channels * 2, num_classes),
    )


def cnn_onnx(path: Path, *, dynamic_batch: bool = True, size: int = 8) -> Path:
    """A small conv net over 1×size×size images with 10 class logits; input ``x``, output ``logits``."""
    import torch

    return _export(
        small_cnn(),
        (torch.randn(1, 1, size, size),),
        path,
        input_names=["x"],
        output_names=["logits"],
        dynamic_batch=dynamic_batch,
    )


def mlp_onnx(path: Path, *, features: int = 32, hidden: int = 64, classes: int = 5) -> Path:
    """A two-layer MLP; input ``x`` [batch, features], output ``logits`` [batch, classes]."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    return _export(
        module,
        (torch.randn(2, features),),
        path,
        input_names=["x"],
        output_names=["logits"],
        dynamic_batch=True,
    )


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def image_dataset(n: int = 64, *, size: int = 8, labels: bool = True, seed: int = 0) -> bytes:
    """An ``.npz`` matching :func:`cnn_onnx`: ``x`` [n, 1, size, size] float32 and optional ``labels``."""
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, 1, size, size)).astype(np.float32)}
    if labels:
        arrays["labels"] = rng.integers(0, 10, size=n).astype(np.int64)
    return npz_bytes(**arrays)
