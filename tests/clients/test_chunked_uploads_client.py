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


def _cli_upload(env: dict[str, str], *args: str) -> dict:
    """``slimline models upload ARGS --json``; the model it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "upload", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


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
    model = _cli_upload(env, str(archive))
    assert model["id"].startswith("mdl_") and model["inputs"][0]["shape"] == ["batch", 8]


def test_sdk_and_cli_send_an_onnx_with_its_data_files(live_api, settings, tmp_path):
    from slimline_client import Slimline

    from tests.factories.external_data import mlp_with_external_data

    model_path = mlp_with_external_data(tmp_path / "m")
    data = tmp_path / "m" / "weights.bin"
    key = new_api_key(settings.database_url)
    for threshold in (10**9, 256):  # one multipart request; then, above the threshold, one tar in parts
        with Slimline(live_api, key, chunked_threshold_bytes=threshold, part_size_bytes=256) as client:
            sent: list[int] = []
            model = client.models.upload(model_path, data_files=[data], on_bytes=sent.append)
            assert model.data.inputs[0].name == "x" and model.data.parameter_count == 8 * 16 + 16 + 16 * 4
            assert sum(sent) >= model_path.stat().st_size + data.stat().st_size
            content = client.http.get(f"/v1/models/{model.id}/content")
            assert content.headers["content-disposition"].endswith('.tar"')
    env = {**os.environ, "SLIMLINE_URL": live_api, "SLIMLINE_API_KEY": key, "XDG_CONFIG_HOME": str(tmp_path / "c")}
    assert _cli_upload(env, str(model_path), "--data", str(data))["parameter_count"] == 8 * 16 + 16 + 16 * 4
