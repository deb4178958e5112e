from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.factories import cnn_onnx, image_dataset


@pytest.fixture(scope="session")
def cnn_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return cnn_onnx(tmp_path_factory.mktemp("e2e-models") / "cnn.onnx").read_bytes()


@pytest.fixture(scope="session")
def images_npz() -> bytes:
    return image_dataset(64)


@pytest.fixture()
def http(live_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_api, timeout=30) as client:
        yield client
