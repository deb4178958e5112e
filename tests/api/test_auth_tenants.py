"""Auth (401 problems) and tenant isolation (another tenant's ids answer 404)."""

from __future__ import annotations

from tests.helpers import new_api_key, upload_ok


def test_missing_key_is_401_problem(client):
    response = client.get("/v1/models")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "unauthorized" and body["status"] == 401 and "Bearer" in body["detail"]


def test_invalid_key_is_401(client):
    response = client.get("/v1/jobs", headers={"Authorization": "Bearer sk_not-a-real-key"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


def test_keys_are_stored_hashed(settings, client):
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.models import ApiKey
    from app.tenants.keys import hash_key

    key = new_api_key(settings.database_url)
    with session_scope(settings.database_url) as session:
        stored = session.scalars(select(ApiKey.key_sha256)).all()
    assert hash_key(key) in stored and key not in stored


def test_other_tenants_resources_answer_404(client, settings, auth, cnn_bytes, images_npz):
    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
    job = client.post("/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"]}).json()

    intruder = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    for path in (
        f"/v1/models/{model['id']}",
        f"/v1/models/{model['id']}/content",
        f"/v1/datasets/{dataset['id']}",
        f"/v1/jobs/{job['id']}",
        f"/v1/jobs/{job['id']}/events",
        f"/v1/jobs/{job['id']}/artifacts",
    ):
        response = client.get(path, headers=intruder)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert client.delete(f"/v1/models/{model['id']}", headers=intruder).status_code == 404
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=intruder).status_code == 404
    # Using another tenant's model in a job is also a 404, not a way in.
    response = client.post("/v1/jobs", headers=intruder, json={"model_id": model["id"], "dataset_id": dataset["id"]})
    assert response.status_code == 404
    assert client.get("/v1/models", headers=intruder).json()["items"] == []
    assert client.get("/v1/jobs", headers=intruder).json()["items"] == []
