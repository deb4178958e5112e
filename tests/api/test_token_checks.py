"""A language model's dataset is checked when a job is created: token ids outside the vocabulary are a 422 naming
the largest id; a KV-cache model needs no arrays for its past (the evaluation starts it empty) nor a mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.engine.lm_models import tiny_cache_lm
from tests.factories import npz_bytes
from tests.helpers import upload_ok

VOCAB = 40


@pytest.fixture(scope="session")
def cache_lm_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tiny_cache_lm(Path(tmp_path_factory.mktemp("lm")) / "lm.onnx", vocab=VOCAB).read_bytes()


def _job(client, auth, model_bytes: bytes, ids: np.ndarray, **recipe):  # type: ignore[no-untyped-def]
    model = upload_ok(client, auth, "models", "lm.onnx", model_bytes)
    dataset = upload_ok(client, auth, "datasets", "tokens.npz", npz_bytes(input_ids=ids))
    body = {"model_id": model["id"], "dataset_id": dataset["id"], **recipe}
    return client.post("/v1/jobs", headers=auth, json=body)


def _ids(largest: int) -> np.ndarray:
    ids = np.random.default_rng(0).integers(0, VOCAB, (12, 16)).astype(np.int64)
    ids[7, 3] = largest
    return ids


def test_a_cache_model_needs_only_token_ids(client, auth, cache_lm_bytes):
    response = _job(client, auth, cache_lm_bytes, _ids(VOCAB - 1))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("largest", "says"),
    [
        (VOCAB + 5, f"holds token id {VOCAB + 5}, but the model's vocabulary has {VOCAB} tokens (ids 0..{VOCAB - 1}"),
        (-3, "holds negative token id -3"),
    ],
    ids=["beyond-vocabulary", "negative"],
)
def test_token_ids_outside_the_vocabulary_are_a_422_naming_the_largest(client, auth, cache_lm_bytes, largest, says):
    response = _job(client, auth, cache_lm_bytes, _ids(largest))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "dataset_incompatible" and says in problem["detail"], problem
    assert [e["field"] for e in problem["errors"]] == ["arrays.input_ids"]


def test_task_other_asks_for_the_past_arrays_again(client, auth, cache_lm_bytes):
    response = _job(client, auth, cache_lm_bytes, _ids(VOCAB - 1), evaluation={"task": "other"})
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"arrays.past_key_values.0.key", "arrays.past_key_values.0.value"}
