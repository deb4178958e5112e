"""`slimline serve` on the embedded default (SQLite, SQLite broker, local blobs, a real worker child)."""

from __future__ import annotations

import base64
import os
import time

import httpx
import pytest

from tests.conftest import SLIMLINE, Process, free_port
from tests.e2e.serve import serving
from tests.helpers import upload_ok, wait_for_job

pytestmark = pytest.mark.e2e


def _serve_and_run_a_job(home, cnn_bytes, images_npz, extra_env=None) -> bytes:
    """Start `slimline serve`, run a dynamic-quantization job through it, return the model artifact."""
    with serving(home, extra_env) as served, httpx.Client(base_url=served.url, timeout=30) as http:
        auth = served.auth
        model = upload_ok(http, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(http, auth, "datasets", "images.npz", images_npz)
        job = http.post(
            "/v1/jobs",
            headers=auth,
            json={
                "model_id": model["id"],
                "dataset_id": dataset["id"],
                "passes": [{"type": "quantize", "mode": "dynamic"}],
            },
        ).json()
        done = wait_for_job(http, auth, job["id"], timeout=240)
        assert done["status"] == "succeeded", (done, "\n".join(served.server.lines[-40:]))
        artifact = http.get(f"/v1/jobs/{job['id']}/artifacts/{done['result']['model_artifact']}", headers=auth)
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


def test_bootstrap_key_and_second_start_prints_no_new_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIMLINE_")}
    env["SLIMLINE_BOOTSTRAP_API_KEY"] = "bootstrap-key-for-tests-0123456789"
    port = free_port()
    server = Process([*SLIMLINE, "serve", "--data-dir", str(tmp_path), "--port", str(port)], env, "serve")
    try:
        server.wait_for("SLIMLINE_BOOTSTRAP_API_KEY", timeout=90)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/models",
                    headers={"Authorization": "Bearer bootstrap-key-for-tests-0123456789"},
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response.status_code == 200
        assert not any("shown once" in line for line in server.lines)
    finally:
        server.stop()
