"""The S3 backend against a real S3-compatible server (moto, server mode, its own process)."""

from __future__ import annotations

import hashlib
import os

import boto3
import httpx
import pytest

from app.core.settings import Settings
from app.core.storage import make_store
from tests.helpers import s3_settings_for, upload_ok


@pytest.fixture()
def s3_settings(s3_endpoint, settings, tmp_path) -> Settings:
    bucket = f"slimline-{os.urandom(4).hex()}"
    env = s3_settings_for(s3_endpoint, bucket)
    return settings.model_copy(
        update={
            "storage_url": env["SLIMLINE_STORAGE_URL"],
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": "test",
            "s3_secret_access_key": Settings(s3_secret_access_key="test").s3_secret_access_key,
            "s3_multipart_chunk_bytes": 5 * 1024**2,
            "tmp_dir": tmp_path / "staging",
        }
    )


def _objects(s3_settings: Settings) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_settings.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = s3_settings.storage_url.removeprefix("s3://").split("/")[0]
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_multipart_put_stream_presign_delete(s3_settings, tmp_path):
    store = make_store(s3_settings)
    payload = os.urandom(12 * 1024**2)  # > 2 parts of 5 MiB: a real multipart upload
    source = tmp_path / "blob.bin"
    source.write_bytes(payload)
    store.put_file("ten_1/models/mdl_1", source)
    assert not source.exists()
    assert _objects(s3_settings) == ["slimline/ten_1/models/mdl_1"], "no temporary key is left behind"
    assert store.exists("ten_1/models/mdl_1") and store.size("ten_1/models/mdl_1") == len(payload)
    streamed = b"".join(store.iter_chunks("ten_1/models/mdl_1", 1024**2))
    assert hashlib.sha256(streamed).digest() == hashlib.sha256(payload).digest()
    url = store.presigned_url("ten_1/models/mdl_1", filename="mdl_1.onnx")
    direct = httpx.get(url)
    assert direct.status_code == 200 and direct.content == payload
    assert 'filename="mdl_1.onnx"' in direct.headers["content-disposition"]
    store.delete_prefix("ten_1/models")
    assert _objects(s3_settings) == [] and not store.exists("ten_1/models/mdl_1")


def test_api_on_s3_uploads_and_redirects_downloads(s3_settings, auth, cnn_bytes):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(s3_settings), raise_server_exceptions=False) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        [key] = _objects(s3_settings)
        assert key.startswith("slimline/ten_") and key.endswith(f"/models/{model['id']}")
        streamed = client.get(f"/v1/models/{model['id']}/content", headers=auth)
        assert streamed.status_code == 200 and streamed.content == cnn_bytes
        redirect = client.get(
            f"/v1/models/{model['id']}/content", headers=auth, params={"redirect": "true"}, follow_redirects=False
        )
        assert redirect.status_code == 307
        assert httpx.get(redirect.headers["location"]).content == cnn_bytes
        assert client.delete(f"/v1/models/{model['id']}", headers=auth).status_code == 204
    assert _objects(s3_settings) == []


def test_local_storage_ignores_redirect(client, auth, cnn_bytes):
    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    response = client.get(
        f"/v1/models/{model['id']}/content", headers=auth, params={"redirect": "true"}, follow_redirects=False
    )
    assert response.status_code == 200 and response.content == cnn_bytes
