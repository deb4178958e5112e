"""Faults: a worker SIGKILLed mid-job, a running job cancelled."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from tests.factories import mlp_onnx, npz_bytes
from tests.helpers import events, own_broker, start_api, start_worker, submit_job, wait_for_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STATIC = {"passes": [{"type": "quantize", "mode": "static"}]}


@pytest.fixture(scope="module")
def slow_job_inputs(tmp_path_factory):
    """A wide MLP and enough samples that a job runs for several seconds on this machine."""
    path = mlp_onnx(tmp_path_factory.mktemp("slow") / "wide.onnx", features=512, hidden=2048, classes=100)
    x = np.random.default_rng(0).standard_normal((2000, 512)).astype(np.float32)
    return path.read_bytes(), npz_bytes(x=x)


@pytest.fixture()
def isolated_env(service_env, redis_url):
    """Workers of this module use their own Redis database so the session worker does not interfere."""
    return own_broker(service_env, redis_url, offset=1)


def _wait_running(http, auth, job_id, timeout=120):
    return wait_for_job(http, auth, job_id, timeout=timeout, until={"running", "succeeded", "failed", "cancelled"})


def test_worker_killed_mid_job_is_redelivered_and_finishes_once(isolated_env, auth, slow_job_inputs):
    api, url = start_api(isolated_env)
    first = start_worker(isolated_env, name="doomed-worker")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            job = submit_job(http, auth, *slow_job_inputs, recipe=STATIC, wait=False)
            running = _wait_running(http, auth, job["id"])
            assert running["status"] == "running", running
            time.sleep(1.5)
            first.kill(9)  # the whole worker, main process and child, with no chance to clean up
            second = start_worker(isolated_env, name="rescue-worker")
            try:
                done = wait_for_job(http, auth, job["id"], timeout=300)
            finally:
                second.stop()
            assert done["status"] == "succeeded", done
            assert done["attempts"] == 2
            history = events(http, auth, job["id"])
            states = [e["data"].get("to") for e in history if e["type"] == "state"]
            assert states == ["queued", "running", "queued", "running", "succeeded"]
            assert any("no heartbeat" in e["message"] for e in history)
            artifacts = http.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth).json()
            assert len([a for a in artifacts if a["name"] == "report.json"]) == 1
    finally:
        first.kill(9)
        api.stop()


def test_cancel_a_running_job_stops_it_within_seconds(isolated_env, auth, slow_job_inputs):
    api, url = start_api(isolated_env)
    worker = start_worker(isolated_env, name="cancel-worker")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            job = submit_job(http, auth, *slow_job_inputs, recipe=STATIC, wait=False)
            assert _wait_running(http, auth, job["id"])["status"] == "running"
            time.sleep(1.0)
            cancelled = http.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
            worker.wait_for("job stopped: cancelled", timeout=30)
            final = http.get(f"/v1/jobs/{job['id']}", headers=auth).json()
            assert final["status"] == "cancelled" and final["result"] is None
            assert http.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth).json() == []
    finally:
        worker.stop()
        api.stop()
