"""Chunked, resumable uploads: parts in any order, resume after a drop, checksums, expiry, tenants, S3."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import update

from app.core.db import session_scope
from app.core.errors import QuotaExceeded
from app.core.models import ChunkedUpload, utcnow
from app.core.settings import Settings
from tests.factories import npz_bytes
from tests.helpers import new_api_key, s3_settings_for

PART = 1024


def _create(client, auth, content: bytes, *, kind: str = "model", filename: str = "m.onnx", part: int = PART, **extra):
    body = {"kind": kind, "filename": filename, "size_bytes": len(content), "part_size_bytes": part, **extra}
    response = client.post("/v1/uploads", headers=auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _put(client, auth, upload_id: str, number: int, data: bytes, **headers: str):
    return client.put(f"/v1/uploads/{upload_id}/parts/{number}", headers={**auth, **headers}, content=data)


def _chunks(content: bytes, part: int = PART) -> list[bytes]:
    return [content[i : i + part] for i in range(0, len(content), part)]


def test_interrupted_upload_resumes_out_of_order_and_becomes_a_model(client, auth, mlp_bytes):
    upload = _create(client, auth, mlp_bytes, name="chunked mlp")
    chunks = _chunks(mlp_bytes)
    assert upload["part_count"] == len(chunks) >= 3 and upload["missing_parts"] == list(range(1, len(chunks) + 1))
    for number in reversed(range(2, len(chunks) + 1)):  # out of order
        assert _put(client, auth, upload["id"], number, chunks[number - 1]).status_code == 200
    dropped = _put(client, auth, upload["id"], 1, chunks[0][:100])  # the connection dropped mid-part
    assert dropped.status_code == 422 and "part 1" in dropped.json()["detail"]
    state = client.get(f"/v1/uploads/{upload['id']}", headers=auth).json()
    assert state["missing_parts"] == [1] and [p["number"] for p in state["parts"]] == list(range(2, len(chunks) + 1))
    again = _put(client, auth, upload["id"], 2, chunks[1])  # a part sent twice is kept once
    assert again.status_code == 200
    assert _put(client, auth, upload["id"], 1, chunks[0]).status_code == 200
    sha256 = hashlib.sha256(mlp_bytes).hexdigest()
    done = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": sha256})
    assert done.status_code == 201, done.text
    model = done.json()
    assert model["id"].startswith("mdl_") and model["name"] == "chunked mlp" and model["sha256"] == sha256
    assert client.get(f"/v1/models/{model['id']}/content", headers=auth).content == mlp_bytes
    repeat = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": sha256})
    assert repeat.status_code == 200 and repeat.json()["id"] == model["id"]
    assert client.get(f"/v1/uploads/{upload['id']}", headers=auth).json()["resource_id"] == model["id"]


def test_checksums_overlaps_and_missing_parts_name_the_part(client, auth, mlp_bytes):
    upload = _create(client, auth, mlp_bytes)
    chunks = _chunks(mlp_bytes)
    wrong = _put(client, auth, upload["id"], 2, chunks[1], **{"Content-SHA256": "0" * 64})
    assert wrong.status_code == 422 and "part 2: checksum mismatch" in wrong.json()["detail"]
    assert _put(client, auth, upload["id"], 2, chunks[1]).status_code == 200
    other = _put(client, auth, upload["id"], 2, bytes(len(chunks[1])))
    assert other.status_code == 409 and "part 2 is already stored" in other.json()["detail"]
    overlap = client.put(
        f"/v1/uploads/{upload['id']}",
        headers={**auth, "Content-Range": f"bytes 512-1535/{len(mlp_bytes)}"},
        content=mlp_bytes[512:1536],
    )
    assert overlap.status_code == 409 and "overlap part 1" in overlap.json()["detail"]
    by_range = client.put(
        f"/v1/uploads/{upload['id']}",
        headers={**auth, "Content-Range": f"bytes 0-1023/{len(mlp_bytes)}"},
        content=chunks[0],
    )
    assert by_range.status_code == 200 and by_range.json()["number"] == 1
    sha256 = hashlib.sha256(mlp_bytes).hexdigest()
    early = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": sha256})
    assert early.status_code == 422 and "parts 3" in early.json()["detail"]
    for number in range(3, len(chunks) + 1):
        _put(client, auth, upload["id"], number, chunks[number - 1])
    mismatch = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": "a" * 64})
    assert mismatch.status_code == 422 and "checksum mismatch" in mismatch.json()["detail"]
    beyond = _put(client, auth, upload["id"], len(chunks) + 1, b"x")
    assert beyond.status_code == 422 and f"part {len(chunks) + 1} does not exist" in beyond.json()["detail"]


def test_expired_upload_is_gone_and_other_tenants_see_nothing(client, auth, settings, mlp_bytes):
    upload = _create(client, auth, mlp_bytes)
    assert _put(client, auth, upload["id"], 1, mlp_bytes[:PART]).status_code == 200
    with session_scope(settings.database_url) as session:
        assert (settings.storage_dir / session.get(ChunkedUpload, upload["id"]).storage_key).is_dir()
    stranger = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    assert client.get(f"/v1/uploads/{upload['id']}", headers=stranger).status_code == 404
    assert _put(client, stranger, upload["id"], 2, mlp_bytes[PART : 2 * PART]).status_code == 404
    with session_scope(settings.database_url) as session:
        key = session.get(ChunkedUpload, upload["id"]).storage_key
        session.execute(
            update(ChunkedUpload).where(ChunkedUpload.id == upload["id"]).values(expires_at=utcnow() - timedelta(1))
        )
    _create(client, auth, mlp_bytes)  # the tenant's next upload sweeps the expired one's parts (so does a GET)
    assert not (settings.storage_dir / key).exists()
    assert client.get(f"/v1/uploads/{upload['id']}", headers=auth).status_code == 410
    assert _put(client, auth, upload["id"], 2, mlp_bytes[PART : 2 * PART]).status_code == 410
    sha256 = hashlib.sha256(mlp_bytes).hexdigest()
    gone = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": sha256})
    assert gone.status_code == 410 and gone.json()["code"] == "upload_expired"


def test_size_limits_and_quota_are_checked_at_creation(client, auth, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_model_bytes", 1000)
    response = client.post(
        "/v1/uploads", headers=auth, json={"kind": "model", "filename": "m.onnx", "size_bytes": 5000}
    )
    assert response.status_code == 413 and "1000 bytes" in response.json()["detail"]
    monkeypatch.setattr(settings, "max_model_bytes", 10**6)
    monkeypatch.setattr(settings, "tenant_max_stored_bytes", 4000)
    response = client.post(
        "/v1/uploads", headers=auth, json={"kind": "model", "filename": "m.onnx", "size_bytes": 5000}
    )
    assert response.status_code == QuotaExceeded.status and "storage quota" in response.json()["detail"]


@pytest.fixture()
def s3_app_settings(s3_endpoint, settings, tmp_path) -> Settings:
    env = s3_settings_for(s3_endpoint, f"slimline-{os.urandom(4).hex()}")
    return settings.model_copy(
        update={
            "storage_url": env["SLIMLINE_STORAGE_URL"],
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": "test",
            "s3_secret_access_key": Settings(s3_secret_access_key="test").s3_secret_access_key,
            "tmp_dir": tmp_path / "staging",
        }
    )


def test_chunked_dataset_on_s3_uses_a_multipart_upload(s3_app_settings, auth):
    from fastapi.testclient import TestClient

    from app.main import create_app

    x = np.random.default_rng(0).standard_normal((1500, 1024)).astype(np.float32)  # ~6 MB: two S3 parts
    content = npz_bytes(x=x)
    part = 5 * 1024**2
    with TestClient(create_app(s3_app_settings), raise_server_exceptions=False) as client:
        small = client.post(
            "/v1/uploads",
            headers=auth,
            json={"kind": "dataset", "filename": "x.npz", "size_bytes": len(content), "part_size_bytes": 1024},
        )
        assert small.status_code == 422 and "part_size_bytes" in small.json()["detail"]
        upload = _create(client, auth, content, kind="dataset", filename="x.npz", part=part)
        assert upload["part_count"] == 2
        assert _put(client, auth, upload["id"], 2, content[part:]).status_code == 200
        assert _put(client, auth, upload["id"], 1, content[:part]).status_code == 200
        sha256 = hashlib.sha256(content).hexdigest()
        bad = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": "b" * 64})
        assert bad.status_code == 422  # S3 consumed the parts: they must come again
        assert client.get(f"/v1/uploads/{upload['id']}", headers=auth).json()["missing_parts"] == [1, 2]
        for number, data in ((1, content[:part]), (2, content[part:])):
            assert _put(client, auth, upload["id"], number, data).status_code == 200
        done = client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth, json={"sha256": sha256})
        assert done.status_code == 201, done.text
        dataset = done.json()
        assert dataset["num_samples"] == 1500 and dataset["sha256"] == sha256
        assert client.get(f"/v1/datasets/{dataset['id']}/content", headers=auth).content == content
