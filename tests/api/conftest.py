from __future__ import annotations

import pytest

from tests.factories import cnn_onnx, image_dataset, mlp_onnx


@pytest.fixture(scope="session")
def cnn_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return cnn_onnx(tmp_path_factory.mktemp("models") / "cnn.onnx").read_bytes()


@pytest.fixture(scope="session")
def mlp_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return mlp_onnx(tmp_path_factory.mktemp("models") / "mlp.onnx").read_bytes()


@pytest.fixture(scope="session")
def images_npz() -> bytes:
    return image_dataset(64)


@pytest.fixture()
def model_and_data(client, auth, cnn_bytes, images_npz):  # type: ignore[no-untyped-def]
    from tests.helpers import upload_ok

    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    dataset = upload_ok(client, auth, "datasets", "images.npz", images_npz)
    return model, dataset
