"""A model with external data, uploaded as an archive, runs as a job on the session's real worker."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from tests.factories import npz_bytes
from tests.factories.external_data import model_archive
from tests.helpers import upload_ok, wait_for_job

pytestmark = pytest.mark.e2e


def test_job_on_an_archive_model_succeeds(http, auth, worker, tmp_path):
    model = upload_ok(http, auth, "models", "mlp.zip", model_archive(tmp_path / "m", "zip"))
    x = np.random.default_rng(0).standard_normal((32, 8)).astype(np.float32)
    dataset = upload_ok(http, auth, "datasets", "x.npz", npz_bytes(x=x))
    body = {"model_id": model["id"], "dataset_id": dataset["id"], "passes": [{"type": "quantize", "mode": "dynamic"}]}
    response = http.post("/v1/jobs", headers=auth, json=body)
    assert response.status_code == 202, response.text
    done = wait_for_job(http, auth, response.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    artifact = http.get(f"/v1/jobs/{done['id']}/artifacts/{done['result']['model_artifact']}", headers=auth)
    assert artifact.status_code == 200
    onnx.checker.check_model(onnx.load_from_string(artifact.content))
