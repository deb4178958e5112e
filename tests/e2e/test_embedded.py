"""`slimline serve` on the embedded default (SQLite, SQLite broker, local blobs, a real worker child)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.e2e.serve import serving
from tests.helpers import submit_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BOOTSTRAP_KEY = "bootstrap-key-for-tests-0123456789"


def _serve_and_run_a_job(home, cnn_bytes, images_npz, extra_env=None) -> bytes:
    """Start `slimline serve`, run a dynamic-quantization job through it, return the model artifact."""
    with serving(home, extra_env) as served, httpx.Client(base_url=served.url, timeout=30) as http:
        recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}]}
        done = submit_job(http, served.auth, cnn_bytes, images_npz, recipe=recipe)
        assert done["status"] == "succeeded", (done, served.server.tail())
        artifact = http.get(f"/v1/jobs/{done['id']}/artifacts/{done['result']['model_artifact']}", headers=served.auth)
        assert artifact.status_code == 200 and len(artifact.content) > 0
        return artifact.content


def test_serve_runs_a_job_with_no_settings(tmp_path, cnn_bytes, images_npz):
    home = tmp_path / "home"
    _serve_and_run_a_job(home, cnn_bytes, images_npz)
    assert (home / "slimline.db").exists() and (home / "broker.db").exists() and (home / "blobs").is_dir()


def test_serve_with_encryption_at_rest_runs_a_job(tmp_path, cnn_bytes, images_npz):
    import onnx

    home = tmp_path / "home"
    master = base64.b64encode(os.urandom(32)).decode()
    model_bytes = _serve_and_run_a_job(home, cnn_bytes, images_npz, {"SLIMLINE_ENCRYPTION_KEY": master})
    assert len(onnx.load_from_string(model_bytes).graph.node) > 0, "the worker decrypted, optimized, re-sealed"
    blobs = [p for p in (home / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) >= 4  # model, dataset, and the job's artifacts
    assert all(p.read_bytes()[:8] == b"SLMENC01" for p in blobs), [p.name for p in blobs]


def test_serve_with_a_bootstrap_key_accepts_it_and_prints_no_new_key(tmp_path):
    with serving(tmp_path, {"SLIMLINE_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY}) as served:
        assert served.key == BOOTSTRAP_KEY
        assert httpx.get(f"{served.url}/v1/models", headers=served.auth, timeout=30).status_code == 200
        assert any("SLIMLINE_BOOTSTRAP_API_KEY" in line for line in served.server.lines)
        assert not any("shown once" in line for line in served.server.lines)
        dashboard = served.server.wait_for("Dashboard:").split()[1]  # the banner links the dashboard; / leads there
        assert dashboard == f"{served.url}/ui/"
        assert 'id="job-form"' in httpx.get(f"{served.url}/", follow_redirects=True, timeout=30).text
        # SIGTERM to the server alone (a supervisor's stop, not the whole process group): it stops its worker too.
        worker_name = f"slimline-cpu-gpu-{served.server.proc.pid}@"
        assert _running(worker_name)
        os.kill(served.server.proc.pid, signal.SIGTERM)
        served.server.proc.wait(timeout=30)
        deadline = time.monotonic() + 25
        while _running(worker_name) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _running(worker_name), "the embedded worker outlived `slimline serve`"


def _running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def test_the_embedded_worker_exits_when_serve_is_killed(tmp_path):
    with serving(tmp_path) as served:
        worker_name = f"slimline-cpu-gpu-{served.server.proc.pid}@"
        assert _running(worker_name)
        # SIGKILL to the server alone: it stops nothing itself, the worker has to notice.
        os.kill(served.server.proc.pid, signal.SIGKILL)
        served.server.proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while _running(worker_name) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _running(worker_name), "the embedded worker outlived a SIGKILLed `slimline serve`"


def test_sigint_stops_serve_and_its_worker(tmp_path):
    with serving(tmp_path) as served:
        worker_name = f"slimline-cpu-gpu-{served.server.proc.pid}@"
        assert _running(worker_name)
        os.kill(served.server.proc.pid, signal.SIGINT)
        assert served.server.proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 25
        while _running(worker_name) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _running(worker_name), "the embedded worker outlived `slimline serve` after SIGINT"
