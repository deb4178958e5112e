"""Per-tenant rate limits and quotas: clear 4xx problems, Retry-After on 429."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import upload, upload_ok


@pytest.fixture()
def limited(settings):
    def make(**limits):
        return TestClient(create_app(settings.model_copy(update=limits)), raise_server_exceptions=False)

    return make


def test_job_creation_rate_limit(limited, auth, cnn_bytes, images_npz):
    with limited(tenant_jobs_per_minute=3) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
        body = {"model_id": model["id"], "dataset_id": dataset["id"]}
        codes = [client.post("/v1/jobs", headers=auth, json=body).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        limited_response = client.post("/v1/jobs", headers=auth, json=body)
        assert limited_response.json()["code"] == "rate_limited"
        assert 1 <= int(limited_response.headers["retry-after"]) <= 60
        # A new Idempotency-Key is a new creation: limited too.
        first = client.post("/v1/jobs", headers={**auth, "Idempotency-Key": "k"}, json=body)
        assert first.status_code == 429


def test_active_jobs_quota(limited, auth, cnn_bytes, images_npz):
    with limited(tenant_max_active_jobs=2) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
        body = {"model_id": model["id"], "dataset_id": dataset["id"], "target": {"device": "cuda"}}
        jobs = [client.post("/v1/jobs", headers=auth, json=body) for _ in range(2)]
        third = client.post("/v1/jobs", headers=auth, json=body)
        assert third.status_code == 429 and "queued or running" in third.json()["detail"]
        client.post(f"/v1/jobs/{jobs[0].json()['id']}/cancel", headers=auth)
        assert client.post("/v1/jobs", headers=auth, json=body).status_code == 202
        for response in client.get("/v1/jobs", headers=auth, params={"status": "queued"}).json()["items"]:
            client.post(f"/v1/jobs/{response['id']}/cancel", headers=auth)


def test_upload_rate_limit(limited, auth, mlp_bytes):
    with limited(tenant_uploads_per_minute=2) as client:
        codes = [upload(client, auth, "models", "m.onnx", mlp_bytes).status_code for _ in range(3)]
        assert codes == [201, 201, 429]


def test_storage_quota(limited, auth, mlp_bytes, settings):
    with limited(tenant_max_stored_bytes=int(len(mlp_bytes) * 1.5)) as client:
        assert upload(client, auth, "models", "m.onnx", mlp_bytes).status_code == 201
        over = upload(client, auth, "models", "m.onnx", mlp_bytes)
        assert over.status_code == 403 and over.json()["code"] == "quota_exceeded"
        assert list(settings.staging_dir.glob("upload-*")) == []
