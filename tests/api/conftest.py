from __future__ import annotations

import pytest

from tests.factories import mlp_onnx
from tests.helpers import upload_ok


@pytest.fixture(scope="session")
def mlp_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return mlp_onnx(tmp_path_factory.mktemp("models") / "mlp.onnx").read_bytes()


@pytest.fixture()
def model_and_data(client, auth, cnn_bytes, images_npz):  # type: ignore[no-untyped-def]
    """The CNN and its images, uploaded for this test's tenant: (model, dataset) resources."""
    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    dataset = upload_ok(client, auth, "datasets", "images.npz", images_npz)
    return model, dataset
