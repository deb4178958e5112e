"""The SDK and CLI send large files in resumable parts (thresholds of a few hundred bytes here) with progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.factories.external_data import model_archive
from tests.helpers import REPO, new_api_key

pytestmark = pytest.mark.e2e


@pytest.fixture()
def sdk(live_api, settings):  # type: ignore[no-untyped-def]
    from slimline_client import Slimline

    with Slimline(
        live_api, new_api_key(settings.database_url), chunked_threshold_bytes=256, part_size_bytes=256
    ) as client:
        yield client


def test_sdk_resumes_an_interrupted_chunked_upload(sdk, tmp_path, monkeypatch):
    path = tmp_path / "mlp.tar"
    path.write_bytes(model_archive(tmp_path / "m", "tar"))
    sent: list[int] = []
    real_put = sdk.models._put_part
    calls = 0

    def flaky(upload_id, number, data, retries):  # the connection drops for good after two parts
        nonlocal calls
        calls += 1
        if calls > 2:
            raise httpx.ReadError("connection reset")
        real_put(upload_id, number, data, retries)

    monkeypatch.setattr(sdk.models, "_put_part", flaky)
    with pytest.raises(httpx.ReadError):
        sdk.models.upload(path, name="chunked", on_bytes=sent.append)
    upload_id = sdk.models.last_upload_id
    assert len(sdk.http.get(f"/v1/uploads/{upload_id}").json()["parts"]) == 2
    monkeypatch.setattr(sdk.models, "_put_part", real_put)
    resumed: list[int] = []
    model = sdk.models.upload_chunked(path, upload_id=upload_id, on_bytes=resumed.append)
    assert sum(resumed) == path.stat().st_size  # the stored parts count, then the rest
    assert model.name == "chunked" and model.data.inputs[0].name == "x"  # validated like a direct upload
    assert sdk.http.get(f"/v1/uploads/{upload_id}").json()["resource_id"] == model.id


def test_cli_uploads_an_archive_in_parts(live_api, settings, tmp_path):
    archive = tmp_path / "mlp.zip"
    archive.write_bytes(model_archive(tmp_path / "m", "zip"))
    env = {
        **os.environ,
        "SLIMLINE_URL": live_api,
        "SLIMLINE_API_KEY": new_api_key(settings.database_url),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "SLIMLINE_CHUNKED_THRESHOLD_BYTES": "512",
        "SLIMLINE_PART_SIZE_BYTES": "512",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "upload", str(archive), "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    model = json.loads(result.stdout)
    assert model["id"].startswith("mdl_") and model["inputs"][0]["shape"] == ["batch", 8]
