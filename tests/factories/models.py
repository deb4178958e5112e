"""Small real networks, built and exported to ONNX by the tests themselves (no binary files in the repo)."""

from __future__ import annotations

from pathlib import Path


def export_onnx(module, example: tuple, path: Path, *, input_names, output_names, dynamic_batch: bool) -> Path:
    """Export a torch module to ``path`` (dynamo exporter, weights inside the file); batch axis 0 dynamic."""
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
    """The torch module behind :func:`cnn_onnx` (seeded, so every build has the same weights)."""
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

    return export_onnx(
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
    return export_onnx(
        module,
        (torch.randn(2, features),),
        path,
        input_names=["x"],
        output_names=["logits"],
        dynamic_batch=True,
    )
