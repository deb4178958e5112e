"""The SDK and the `slimline` CLI against a live server with a real worker."""

from __future__ import annotations

import filecmp
import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.factories import cnn_onnx, image_dataset
from tests.helpers import REPO, new_api_key

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


def test_sdk_cancel_events_and_conflicts(client, worker, files):
    from slimline_client import Client, ConflictError, SlimlineError

    assert Client is type(client)
    model = client.models.upload(files[0], name="to-cancel")
    assert client.models.get(model.id).data.name == "to-cancel"
    dataset = client.datasets.upload(files[1])
    job = client.jobs.create(model.id, dataset.id, {"passes": [{"type": "quantize", "mode": "dynamic"}]})
    with pytest.raises(ConflictError) as busy:
        client.models.delete(model.id)
    assert busy.value.code == "in_use" and job.id in busy.value.detail
    job.cancel().wait(timeout=120)
    assert job.status == "cancelled" and job.report is None
    events = job.events()
    assert events[0]["type"] == "state" and events[-1]["data"]["to"] == "cancelled"
    with pytest.raises(ConflictError) as again:
        job.cancel()
    assert again.value.code == "invalid_state" and again.value.status == 409
    assert isinstance(again.value, SlimlineError) and "cancelled" in again.value.detail
    client.models.delete(model.id)
    assert model.id not in [m.id for m in client.models.list()]


def test_sdk_lists_follow_the_cursor_to_the_end(client, files):
    models = [client.models.upload(files[0], name=f"model-{i}") for i in range(3)]
    datasets = [client.datasets.upload(files[1]) for _ in range(3)]
    # two per request: the second page holds the oldest one; newest first throughout
    assert [m.id for m in client.models.list(limit=2)] == [m.id for m in reversed(models)]
    assert [d.id for d in client.datasets.list(limit=2)] == [d.id for d in reversed(datasets)]


def test_sdk_package_builds_on_its_own(tmp_path):
    """`sdk/` is its own distribution (`slimline-client`): generated client + friendly layer, importable alone."""
    shutil.copytree(REPO / "sdk", tmp_path / "sdk", ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    # setuptools >= 70.1 builds wheels by itself: then no download; an older one (a fresh 3.11 venv has 65)
    # lets pip fetch the build requirements from the index
    setuptools_version = tuple(int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    isolation = ["--no-build-isolation"] if setuptools_version >= (70, 1) else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            *isolation,
            "-w",
            str(tmp_path / "dist"),
            str(tmp_path / "sdk"),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("slimline_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith("/entry_points.txt"))).decode()
    assert "Name: slimline-client" in metadata
    # the client CLI comes with it, and needs nothing of the server
    assert "slimline = slimline_client.cli:main" in entry_points
    assert "Requires-Dist: typer" in metadata and "Requires-Dist: rich" in metadata
    assert "slimline_api/api/models/upload_model.py" in names and "slimline_client/client.py" in names
    # the wheel alone (zip import, outside the repo) provides both packages
    code = (
        "import slimline_client, slimline_api, inspect;"
        "from slimline_api.api.models import upload_model;"
        "assert 'body' in inspect.signature(upload_model.asyncio_detailed).parameters;"
        "from slimline_api.models import UploadModelBody, UploadDatasetBody;"
        "assert all(str(b.__annotations__['file']) == 'File' for b in (UploadModelBody, UploadDatasetBody));"
        "import slimline_client.cli, sys;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('app', 'worker')], 'the CLI imports the server';"
        "print(slimline_client.__file__)"
    )
    found = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(wheel)!r}); {code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert found.stdout.strip().startswith(str(wheel))


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


def test_cli_jobs_submit_watch_show_download_cancel(cli_env, worker, files, tmp_path):
    model = json.loads(_cli(["models", "upload", str(files[0]), "--json"], cli_env).stdout)
    uploaded = _cli(["datasets", "upload", str(files[1]), "--name", "images", "--json"], cli_env)
    assert uploaded.returncode == 0, uploaded.stderr
    dataset = json.loads(uploaded.stdout)
    assert dataset["id"].startswith("ds_") and dataset["name"] == "images" and dataset["num_samples"] == 48
    assert [d["id"] for d in json.loads(_cli(["datasets", "list", "--json"], cli_env).stdout)] == [dataset["id"]]
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"passes": [{"type": "quantize", "mode": "dynamic"}]}))
    args = ["jobs", "submit", str(recipe), "--model", model["id"], "--data", dataset["id"]]
    submitted = _cli([*args, "--idempotency-key", "cli-1", "--json"], cli_env)
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["status"] in ("queued", "running") and job["recipe"]["passes"][0]["mode"] == "dynamic"
    assert json.loads(_cli([*args, "--idempotency-key", "cli-1", "--json"], cli_env).stdout)["id"] == job["id"]

    watched = _cli(["jobs", "watch", job["id"], "--json"], cli_env)
    final = json.loads(watched.stdout)["job"]
    assert final["status"] == "succeeded", watched.stderr
    # exit 0 when the goal was met, 3 when the job finished but missed it (the report says which)
    assert watched.returncode == (0 if final["result"]["report"]["goal_met"] else 3)
    shown = _cli(["jobs", "show", job["id"]], cli_env)
    assert shown.returncode == 0 and "latency p50 (ms)" in shown.stdout and "speedup" in shown.stdout
    listed = json.loads(_cli(["jobs", "list", "--status", "succeeded", "--json"], cli_env).stdout)
    assert [j["id"] for j in listed] == [job["id"]]

    saved = _cli(["jobs", "download", job["id"], "--out", str(tmp_path / "dl"), "--json"], cli_env)
    assert saved.returncode == 0, saved.stderr
    paths = json.loads(saved.stdout)
    assert json.loads(Path(paths["report.json"]).read_text())["speedup"] == final["result"]["report"]["speedup"]
    assert Path(paths["model.onnx"]).stat().st_size > 0

    refused = _cli(["jobs", "cancel", job["id"]], cli_env)
    assert refused.returncode == 1 and "invalid_state" in refused.stderr and "succeeded" in refused.stderr
    bad_recipe = tmp_path / "bad.json"
    bad_recipe.write_text(json.dumps({"passes": [{"type": "quantize", "mode": "int3"}]}))
    invalid = _cli(["jobs", "submit", str(bad_recipe), "--model", model["id"], "--data", dataset["id"]], cli_env)
    assert invalid.returncode == 1 and "validation_error" in invalid.stderr and "mode" in invalid.stderr
    assert _cli(["datasets", "rm", dataset["id"]], cli_env).returncode == 0
    gone = _cli(["datasets", "show", dataset["id"], "--json"], cli_env)
    assert gone.returncode == 1 and "not_found" in gone.stderr


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


def _closed_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the probe is closed


def test_sdk_names_uploads_and_reports_an_unreachable_server(client, files):
    import httpx
    from slimline_client import ServerUnavailableError, Slimline

    dataset = client.datasets.upload(files[1], name="digits for the demo")
    assert dataset.name == "digits for the demo" and client.datasets.get(dataset.id).name == dataset.name
    assert client.models.upload(files[0]).name == "cnn.onnx"

    with Slimline(_closed_port_url(), "sk_unused") as down:
        assert down.health() is False
        with pytest.raises(ServerUnavailableError) as failure:
            down.models.get("mdl_x")
        assert failure.value.status == 0 and failure.value.code == "server_unavailable"
        assert "cannot reach the Slimline server" in failure.value.detail
        assert isinstance(failure.value, httpx.TransportError)  # code that retries transport errors still does


def test_cli_tables_keep_whole_ids_and_an_unreachable_server_is_one_line(cli_env, files):
    model = json.loads(_cli(["models", "upload", str(files[0]), "--name", "n" * 60, "--json"], cli_env).stdout)
    narrow = {**cli_env, "COLUMNS": "40"}
    listed = _cli(["models", "list"], narrow)
    assert listed.returncode == 0, listed.stderr
    assert model["id"] in listed.stdout, listed.stdout  # piped output is never cut to the terminal's width
    down = _cli(["models", "list"], {**cli_env, "SLIMLINE_URL": _closed_port_url()})
    assert down.returncode == 1 and "cannot reach the Slimline server" in down.stderr
    assert "Traceback" not in down.stderr
