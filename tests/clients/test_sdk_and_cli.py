"""The SDK and the `slimline` CLI against a live server with a real worker."""

from __future__ import annotations

import filecmp
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, new_api_key
from tests.factories import cnn_onnx, image_dataset

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("client-files")
    data = root / "images.npz"
    data.write_bytes(image_dataset(48))
    return cnn_onnx(root / "cnn.onnx"), data


@pytest.fixture()
def client(live_api, settings):  # type: ignore[no-untyped-def]
    from slimline_client import Slimline

    with Slimline(live_api, new_api_key(settings.database_url)) as sdk:
        yield sdk


def test_sdk_upload_submit_wait_download(client, worker, files, tmp_path):
    model_path, data_path = files
    sent: list[int] = []
    model = client.models.upload(model_path, on_bytes=sent.append)
    assert model.id.startswith("mdl_") and sum(sent) == model_path.stat().st_size
    dataset = client.datasets.upload(data_path)
    job = client.jobs.create(
        model.id, dataset.id, {"passes": [{"type": "quantize", "mode": "dynamic"}]}, idempotency_key="sdk-1"
    )
    assert (
        client.jobs.create(
            model.id, dataset.id, {"passes": [{"type": "quantize", "mode": "dynamic"}]}, idempotency_key="sdk-1"
        ).id
        == job.id
    )
    seen: list[str] = []
    job.wait(timeout=240, on_progress=lambda j, event: seen.append(j.status))
    assert job.status == "succeeded" and seen
    assert job.report["baseline"]["latency_ms_p50"] > 0
    files_saved = job.download(tmp_path / "out")
    assert {"model.onnx", "report.json"} <= set(files_saved)
    assert json.loads(files_saved["report.json"].read_text())["speedup"] == job.report["speedup"]
    assert [m.id for m in client.models.list()] == [model.id]


def test_sdk_streams_events(client, worker, files):
    model = client.models.upload(files[0])
    dataset = client.datasets.upload(files[1])
    job = client.jobs.create(model.id, dataset.id, {"passes": [{"type": "quantize", "mode": "dynamic"}]})
    events = list(job.stream(timeout=240))
    assert events[-1]["type"] == "state" and events[-1]["data"]["to"] == "succeeded"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_sdk_errors_are_typed(client):
    from slimline_client import NotFoundError, ValidationError

    with pytest.raises(NotFoundError) as missing:
        client.models.get("mdl_nope")
    assert missing.value.code == "not_found" and missing.value.status == 404
    with pytest.raises(ValidationError) as invalid:
        client.jobs.create("mdl_x", "ds_y", {"target": {"device": "cpu", "batch_size": 0}})
    assert invalid.value.code == "validation_error" and invalid.value.errors


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=300
    )


@pytest.fixture()
def cli_env(live_api, settings, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "SLIMLINE_URL": live_api,
        "SLIMLINE_API_KEY": new_api_key(settings.database_url),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COLUMNS": "120",
    }


def test_cli_run_end_to_end(cli_env, worker, files, tmp_path):
    result = _cli(["run", str(files[0]), str(files[1]), "--out", str(tmp_path / "out")], cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "speedup" in result.stdout and "latency p50 (ms)" in result.stdout
    assert (tmp_path / "out" / "model.onnx").exists() and (tmp_path / "out" / "report.json").exists()


def test_cli_json_output_and_failures(cli_env, files):
    uploaded = _cli(["models", "upload", str(files[0]), "--json"], cli_env)
    assert uploaded.returncode == 0, uploaded.stderr
    model = json.loads(uploaded.stdout)
    listed = json.loads(_cli(["models", "list", "--json"], cli_env).stdout)
    assert [m["id"] for m in listed] == [model["id"]]
    missing = _cli(["models", "show", "mdl_missing"], cli_env)
    assert missing.returncode == 1 and "not_found" in missing.stderr
    no_login = _cli(["models", "list"], {**cli_env, "SLIMLINE_URL": "", "SLIMLINE_API_KEY": ""})
    assert no_login.returncode == 2 and "slimline login" in no_login.stderr


def test_cli_login_stores_credentials_privately(cli_env, live_api):
    env = {**cli_env}
    key = env.pop("SLIMLINE_API_KEY")
    env.pop("SLIMLINE_URL")
    result = _cli(["login", "--url", live_api, "--key", key], env)
    assert result.returncode == 0, result.stderr
    config = Path(env["XDG_CONFIG_HOME"]) / "slimline" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": live_api, "api_key": key}
    assert _cli(["jobs", "list", "--json"], env).returncode == 0
    refused = _cli(["login", "--url", live_api, "--key", "sk_wrong"], env)
    assert refused.returncode == 1 and "unauthorized" in refused.stderr


def test_generated_sdk_is_current(tmp_path):
    out = tmp_path / "slimline_api"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    subprocess.run(["bash", str(REPO / "sdk" / "generate.sh"), str(out)], check=True, env=env, timeout=300)
    comparison = filecmp.dircmp(out, REPO / "sdk" / "slimline_api", ignore=["__pycache__"])

    def differences(cmp: filecmp.dircmp) -> list[str]:
        found = [*cmp.left_only, *cmp.right_only, *cmp.diff_files]
        for sub in cmp.subdirs.values():
            found += differences(sub)
        return found

    assert differences(comparison) == [], "sdk/slimline_api is stale: run sdk/generate.sh"
