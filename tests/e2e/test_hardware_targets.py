"""Hardware classes (issue 18): real workers started with different SLIMLINE_WORKER_HARDWARE_CLASS, on Postgres +
Redis and on the embedded default. A job for a class runs only there; a two-class job yields two results and a
comparison; an unknown class is a 422; a class with no live worker waits, then runs; a frozen worker is marked
lost and its job redelivered."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests.e2e.serve import serving
from tests.factories import mlp_onnx, npz_bytes
from tests.helpers import SLIMLINE, Process, events, new_api_key, start_worker, upload_ok, wait_for_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
A, B = "cpu-test-a", "cpu-test-b"
DYNAMIC = {"passes": [{"type": "quantize", "mode": "dynamic"}]}
STATIC = {"passes": [{"type": "quantize", "mode": "static"}]}


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory) -> tuple[bytes, bytes]:
    path = mlp_onnx(tmp_path_factory.mktemp("hw") / "mlp.onnx", features=16, hidden=32, classes=4)
    x = np.random.default_rng(0).standard_normal((64, 16)).astype(np.float32)
    return path.read_bytes(), npz_bytes(x=x)


@pytest.fixture(scope="module")
def slow_inputs(tmp_path_factory) -> tuple[bytes, bytes]:
    """A wide MLP and enough samples that a static job runs for several seconds here."""
    path = mlp_onnx(tmp_path_factory.mktemp("hw-slow") / "wide.onnx", features=512, hidden=2048, classes=100)
    x = np.random.default_rng(0).standard_normal((2000, 512)).astype(np.float32)
    return path.read_bytes(), npz_bytes(x=x)


def _worker(env: dict[str, str], hardware_class: str, name: str) -> Process:
    # The generic queue is gpu, which no job of these tests uses: only the class queue brings them work.
    return start_worker({**env, "SLIMLINE_WORKER_HARDWARE_CLASS": hardware_class}, queues="gpu", name=name)


@pytest.fixture(scope="module")
def operator(settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_api_key(settings.database_url, role='operator')}"}


@pytest.fixture(scope="module")
def class_workers(service_env, worker) -> Iterator[dict[str, Process]]:
    """Worker A and worker B, beside the session worker (whose reaper marks lost workers)."""
    started = {A: _worker(service_env, A, "worker-a"), B: _worker(service_env, B, "worker-b")}
    yield started
    for process in started.values():
        process.kill(signal.SIGKILL)


def _workers(http: httpx.Client, operator: dict[str, str]) -> list[dict]:
    response = http.get("/v1/workers", headers=operator)
    assert response.status_code == 200, response.text
    return response.json()


def _node_of(http: httpx.Client, operator: dict[str, str], hardware_class: str, pid: int) -> str:
    """The registry id (Celery node name) of the worker process ``pid`` (node names end in -<pid>@host)."""
    for row in _workers(http, operator):
        if row["hardware_class"] == hardware_class and f"-{pid}@" in row["id"] and row["state"] in ("idle", "busy"):
            return str(row["id"])
    raise AssertionError(f"no live worker of {hardware_class} with pid {pid}: {_workers(http, operator)}")


def _create(http, auth, model_id, dataset_id, hardware, recipe=DYNAMIC) -> httpx.Response:
    body = {"model_id": model_id, "dataset_id": dataset_id, **recipe, "target": {"hardware": hardware}}
    return http.post("/v1/jobs", headers=auth, json=body)


def _ran_on(http, auth, job_id) -> list[str]:
    return [e["data"]["worker"] for e in events(http, auth, job_id) if e["type"] == "state" and "worker" in e["data"]]


def test_jobs_run_only_on_their_class_and_a_two_class_job_compares_them(
    http, auth, operator, class_workers, small_inputs
):
    model_id = upload_ok(http, auth, "models", "mlp.onnx", small_inputs[0])["id"]
    dataset_id = upload_ok(http, auth, "datasets", "x.npz", small_inputs[1])["id"]
    hardware = http.get("/v1/hardware", headers=auth).json()
    live = {row["hardware_class"]: row["live_workers"] for row in hardware["classes"]}
    assert live[A] >= 1 and live[B] >= 1, hardware
    # a tenant key does not see the workers; an operator key sees every registered field
    assert http.get("/v1/workers", headers=auth).status_code == 403
    node_a = _node_of(http, operator, A, class_workers[A].proc.pid)
    node_b = _node_of(http, operator, B, class_workers[B].proc.pid)
    row_a = next(row for row in _workers(http, operator) if row["id"] == node_a)
    assert row_a["hardware_class"] == A and row_a["detected_class"].startswith("cpu-") and row_a["cpu_model"]
    assert f"hw.{A}" in row_a["queues"] and row_a["onnxruntime_version"] and row_a["providers"]

    unknown = _create(http, auth, model_id, dataset_id, "cpu-test-nowhere")
    assert unknown.status_code == 422, unknown.text
    problem = unknown.json()
    assert problem["code"] == "no_matching_hardware" and A in problem["detail"] and B in problem["detail"]

    single = _create(http, auth, model_id, dataset_id, A)
    assert single.status_code == 202, single.text
    assert single.json()["hardware_class"] == A and single.json()["status_reason"] is None
    done = wait_for_job(http, auth, single.json()["id"], timeout=180)
    assert done["status"] == "succeeded", done
    assert _ran_on(http, auth, done["id"]) == [node_a]
    assert done["result"]["report"]["environment"]["hardware_class"] == A

    both = _create(http, auth, model_id, dataset_id, [A, B])
    assert both.status_code == 202, both.text
    parent = wait_for_job(http, auth, both.json()["id"], timeout=240)
    assert parent["status"] == "succeeded", parent
    assert parent["result"] is None and [t["hardware_class"] for t in parent["targets"]] == [A, B]
    for target, node in zip(parent["targets"], (node_a, node_b), strict=True):
        assert (
            target["status"] == "succeeded"
            and target["result"]["report"]["environment"]["hardware_class"] == (target["hardware_class"])
        )
        assert _ran_on(http, auth, target["job_id"]) == [node]
        child = http.get(f"/v1/jobs/{target['job_id']}", headers=auth).json()
        assert child["parent_id"] == parent["id"] and child["hardware_class"] == target["hardware_class"]
        names = {a["name"] for a in http.get(f"/v1/jobs/{target['job_id']}/artifacts", headers=auth).json()}
        assert {"model.onnx", "report.json", "report.html"} <= names
    listed = http.get("/v1/jobs", headers=auth, params={"parent_id": parent["id"]}).json()["items"]
    assert {job["id"] for job in listed} == {t["job_id"] for t in parent["targets"]}
    top_level = {job["id"] for job in http.get("/v1/jobs", headers=auth).json()["items"]}
    assert parent["id"] in top_level and not top_level & {t["job_id"] for t in parent["targets"]}
    artifacts = {a["name"] for a in http.get(f"/v1/jobs/{parent['id']}/artifacts", headers=auth).json()}
    assert artifacts == {"comparison.json", "comparison.html"}
    comparison = http.get(f"/v1/jobs/{parent['id']}/artifacts/comparison.json", headers=auth).json()
    assert [row["hardware_class"] for row in comparison["targets"]] == [A, B]
    assert all(row["speedup"] > 0 and row["status"] == "succeeded" for row in comparison["targets"])
    page = http.get(f"/v1/jobs/{parent['id']}/artifacts/comparison.html", headers=auth)
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<svg" in page.text and A in page.text and B in page.text


def test_a_class_without_live_workers_waits_then_runs_and_a_frozen_worker_is_lost(
    http, auth, operator, service_env, class_workers, small_inputs, slow_inputs
):
    model_id = upload_ok(http, auth, "models", "mlp.onnx", small_inputs[0])["id"]
    dataset_id = upload_ok(http, auth, "datasets", "x.npz", small_inputs[1])["id"]
    class_workers[B].stop()  # a clean stop: the registry says stopped, the class stays known
    waiting = _create(http, auth, model_id, dataset_id, B)
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["status_reason"] == "waiting_for_hardware"
    first = events(http, auth, waiting.json()["id"])[0]
    assert "waiting for hardware: no live worker of class cpu-test-b" in first["message"]
    # a two-class job with one class down: A's target runs, B's waits; cancel stops every target
    multi = _create(http, auth, model_id, dataset_id, [A, B]).json()
    assert [t["status_reason"] for t in multi["targets"]] == [None, "waiting_for_hardware"], multi
    time.sleep(3)
    assert http.get(f"/v1/jobs/{waiting.json()['id']}", headers=auth).json()["status"] == "queued"
    cancelled = http.post(f"/v1/jobs/{multi['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled", cancelled.json()
    statuses = {t["hardware_class"]: t["status"] for t in cancelled.json()["targets"]}
    assert statuses[B] == "cancelled" and statuses[A] in ("cancelled", "succeeded"), statuses
    assert http.post(f"/v1/jobs/{multi['id']}/cancel", headers=auth).status_code == 409
    class_workers[B] = _worker(service_env, B, "worker-b-again")
    done = wait_for_job(http, auth, waiting.json()["id"], timeout=180)
    assert done["status"] == "succeeded" and done["status_reason"] is None, done

    slow_model = upload_ok(http, auth, "models", "wide.onnx", slow_inputs[0])["id"]
    slow_data = upload_ok(http, auth, "datasets", "wide.npz", slow_inputs[1])["id"]
    frozen = class_workers[A]
    node = _node_of(http, operator, A, frozen.proc.pid)
    job = _create(http, auth, slow_model, slow_data, A, recipe=STATIC).json()
    wait_for_job(http, auth, job["id"], timeout=120, until={"running", "succeeded", "failed"})
    frozen.freeze()  # alive but silent: no worker heartbeat, no job heartbeat
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = {row["id"]: row["state"] for row in _workers(http, operator)}
            if states.get(node) == "lost":
                break
            time.sleep(0.5)
        assert states.get(node) == "lost", states
        requeued = wait_for_job(http, auth, job["id"], timeout=30, until={"queued"})
        assert requeued["attempts"] == 1 and requeued["status_reason"] == "waiting_for_hardware", requeued
        class_workers[A] = _worker(service_env, A, "worker-a-rescue")
        done = wait_for_job(http, auth, job["id"], timeout=300)
        assert done["status"] == "succeeded" and done["attempts"] == 2, done
        assert _ran_on(http, auth, job["id"]) == [node, _node_of(http, operator, A, class_workers[A].proc.pid)]
    finally:
        frozen.kill(signal.SIGKILL)


def test_embedded_serve_and_a_second_worker_run_one_target_each(tmp_path, small_inputs):
    with serving(tmp_path, {"SLIMLINE_WORKER_HARDWARE_CLASS": A}) as served:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLIMLINE_")}
        env.update(SLIMLINE_DATA_DIR=str(tmp_path), SLIMLINE_ENGINE_THREADS="1", SLIMLINE_WORKER_HARDWARE_CLASS=B)
        second = Process([*SLIMLINE, "worker", "--queues", "gpu"], env, "embedded-worker-b")
        try:
            second.wait_for("ready.", timeout=90)
            with httpx.Client(base_url=served.url, timeout=30) as http:
                auth = served.auth
                model_id = upload_ok(http, auth, "models", "mlp.onnx", small_inputs[0])["id"]
                dataset_id = upload_ok(http, auth, "datasets", "x.npz", small_inputs[1])["id"]
                classes = {row["hardware_class"] for row in http.get("/v1/hardware", headers=auth).json()["classes"]}
                assert {A, B} <= classes
                assert _create(http, auth, model_id, dataset_id, "cpu-test-nowhere").status_code == 422
                parent = wait_for_job(http, auth, _create(http, auth, model_id, dataset_id, [A, B]).json()["id"])
                assert parent["status"] == "succeeded", parent
                ran = {t["hardware_class"]: _ran_on(http, auth, t["job_id"]) for t in parent["targets"]}
                assert ran[B] and all(f"-{second.proc.pid}@" not in node for node in ran[A]), ran
                assert all(f"-{second.proc.pid}@" in node for node in ran[B]), ran
        finally:
            second.stop()
