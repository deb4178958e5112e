"""SLIMLINE_ENCRYPTION_KEY: blobs on disk are sealed per tenant; the API still serves plaintext."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings, SettingsError, load_settings
from app.main import create_app
from tests.helpers import new_api_key, upload_ok


@pytest.fixture()
def sealed_settings(settings: Settings, tmp_path: Path) -> Settings:
    master = Settings(encryption_key=base64.b64encode(os.urandom(32)).decode()).encryption_key
    return settings.model_copy(
        update={"encryption_key": master, "storage_url": (tmp_path / "blobs").as_uri(), "tmp_dir": tmp_path / "tmp"}
    )


def _blob_files(settings: Settings) -> list[Path]:
    return [p for p in settings.storage_dir.rglob("*") if p.is_file()]


def test_uploads_are_sealed_and_downloads_are_plaintext(sealed_settings, cnn_bytes, images_npz):
    first = {"Authorization": f"Bearer {new_api_key(sealed_settings.database_url)}"}
    second = {"Authorization": f"Bearer {new_api_key(sealed_settings.database_url)}"}
    with TestClient(create_app(sealed_settings), raise_server_exceptions=False) as client:
        model = upload_ok(client, first, "models", "cnn.onnx", cnn_bytes)
        upload_ok(client, second, "models", "cnn.onnx", cnn_bytes)
        upload_ok(client, first, "datasets", "images.npz", images_npz)
        assert model["sha256"] == hashlib.sha256(cnn_bytes).hexdigest()

        blobs = _blob_files(sealed_settings)
        assert len(blobs) == 3
        stored = [p.read_bytes() for p in blobs]
        assert all(b.startswith(b"SLMENC01") for b in stored)
        assert all(cnn_bytes[-256:] not in b and images_npz[:256] not in b for b in stored)
        assert not [p for p in sealed_settings.staging_dir.rglob("*") if p.is_file()], "no staged plaintext left"

        download = client.get(f"/v1/models/{model['id']}/content", headers=first)
        assert download.status_code == 200 and download.content == cnn_bytes
        redirect = client.get(
            f"/v1/models/{model['id']}/content", headers=first, params={"redirect": "true"}, follow_redirects=False
        )
        assert redirect.status_code == 200 and redirect.content == cnn_bytes, "no presigned URL to ciphertext"

        # A blob moved under another tenant's key does not open (and is reported, not served).
        [first_blob] = [p for p in blobs if p.name == model["id"]]
        other = next(p for p in blobs if p.parent.name == "models" and p.name != model["id"])
        first_blob.write_bytes(other.read_bytes())
        tampered = client.get(f"/v1/models/{model['id']}/content", headers=first)
        assert tampered.status_code == 503, tampered.text
        assert tampered.json()["code"] == "storage_error" and "failed authentication" in tampered.json()["detail"]


def test_tenants_get_distinct_wrapped_keys(sealed_settings, cnn_bytes):
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.models import ApiKey, Tenant

    keys = [new_api_key(sealed_settings.database_url) for _ in range(2)]
    with TestClient(create_app(sealed_settings), raise_server_exceptions=False) as client:
        for key in keys:
            upload_ok(client, {"Authorization": f"Bearer {key}"}, "models", "cnn.onnx", cnn_bytes)
    with session_scope(sealed_settings.database_url) as session:
        tenant_ids = [
            session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_sha256 == hashlib.sha256(k.encode()).hexdigest()))
            for k in keys
        ]
        wrapped = [session.get(Tenant, t).data_key_wrapped for t in tenant_ids]
    assert all(w and w.startswith("v1:") for w in wrapped) and wrapped[0] != wrapped[1]


def test_bad_master_key_fails_at_start_up(monkeypatch):
    monkeypatch.setenv("SLIMLINE_ENCRYPTION_KEY", base64.b64encode(b"too short").decode())
    with pytest.raises(SettingsError, match="SLIMLINE_ENCRYPTION_KEY"):
        load_settings()


def test_empty_master_key_means_off(monkeypatch):
    monkeypatch.setenv("SLIMLINE_ENCRYPTION_KEY", "")
    assert load_settings().encryption_key is None


def test_master_key_rotation(sealed_settings, cnn_bytes, tmp_path):
    import subprocess
    import sys

    from app.core.migrate import upgrade

    # A database of its own: `keys rewrap` re-wraps every tenant, and the shared test database holds
    # tenants sealed under other tests' master keys.
    sealed_settings = sealed_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'rotation.db'}"})
    upgrade(sealed_settings)
    old, new = sealed_settings.encryption_key, Settings(encryption_key=base64.b64encode(os.urandom(32)).decode())
    key = new_api_key(sealed_settings.database_url)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(sealed_settings), raise_server_exceptions=False) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)

    def download(**keys: object) -> int:
        with TestClient(create_app(sealed_settings.model_copy(update=keys)), raise_server_exceptions=False) as client:
            response = client.get(f"/v1/models/{model['id']}/content", headers=auth)
            assert response.status_code != 200 or response.content == cnn_bytes
            return response.status_code

    rotating = {"encryption_key": new.encryption_key, "encryption_key_previous": old}
    assert download(**rotating) == 200, "during the rotation the old key still opens the tenant's data key"
    assert download(encryption_key=new.encryption_key) == 503, "the new key alone cannot before the re-wrap"

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLIMLINE_")},
        "SLIMLINE_DATABASE_URL": sealed_settings.database_url,
        "SLIMLINE_DATA_DIR": str(sealed_settings.data_dir),
        "SLIMLINE_ENCRYPTION_KEY": new.encryption_key.get_secret_value(),
    }
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "rewrap"], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "SLIMLINE_ENCRYPTION_KEY_PREVIOUS" in refused.stderr
    env["SLIMLINE_ENCRYPTION_KEY_PREVIOUS"] = old.get_secret_value()
    done = subprocess.run([sys.executable, "-m", "app.cli", "keys", "rewrap"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"rewrapped": ' in done.stdout and '"rewrapped": 0' not in done.stdout

    assert download(encryption_key=new.encryption_key) == 200, "no blob was rewritten, only the wrapped keys"
    assert download(encryption_key=old) == 503, "the old key no longer opens anything"
