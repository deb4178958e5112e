"""Datasets as ``.npz`` bytes, the way a user uploads them."""

from __future__ import annotations

import io

import numpy as np


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """The ``.npz`` file of ``arrays``, keyed by name (model input names, optional ``labels``)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def image_dataset(n: int = 64, *, size: int = 8, labels: bool = True, seed: int = 0) -> bytes:
    """An ``.npz`` for ``cnn_onnx``: ``x`` [n, 1, size, size] float32 and optional ``labels`` (10 classes)."""
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, 1, size, size)).astype(np.float32)}
    if labels:
        arrays["labels"] = rng.integers(0, 10, size=n).astype(np.int64)
    return npz_bytes(**arrays)
