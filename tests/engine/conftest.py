from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.engine import models, prune_models
from tests.factories import cnn_onnx, mlp_onnx, npz_bytes


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Builds each model once per session, on demand."""
    root = tmp_path_factory.mktemp("engine-models")
    cache: dict[str, Path] = {}
    builders = {
        "cnn": cnn_onnx,
        "mlp": mlp_onnx,
        "const_mlp": models.mlp_with_constant_weights,
        "conv11": models.conv_opset11,
        "if": models.with_if_node,
        "two_inputs": models.two_inputs,
        "layernorm": models.decomposed_layernorm,
        "dups": models.duplicate_names,
        "rnn": models.recurrent_state,
        "transformer": models.transformer_block,
    }

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = builders[name](root / f"{name}.onnx")
        return cache[name]

    return get


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    path.write_bytes(npz_bytes(**arrays))
    return path


@pytest.fixture()
def data(tmp_path: Path):  # type: ignore[no-untyped-def]
    """data(shape=(n, ...)) or data(a=(n, ...), b=(n, ...), labels=k) -> path of an .npz of float32 normals."""
    rng = np.random.default_rng(0)

    def make(labels: int | None = None, **shapes: tuple[int, ...]) -> Path:
        arrays = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
        if labels is not None:
            n = next(iter(shapes.values()))[0]
            arrays["labels"] = rng.integers(0, labels, size=n).astype(np.int64)
        return write_npz(tmp_path / "data.npz", **arrays)

    return make


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A conv net trained on scikit-learn's digits, and the digits as a dataset with labels."""
    root = tmp_path_factory.mktemp("digits")
    x, y = prune_models.digits()
    model = prune_models.trained_digits_cnn(root / "digits.onnx", x, y)
    return model, write_npz(root / "digits.npz", x=x, labels=y), x, y
