"""Two API processes and two workers with no shared disk (S3 storage), on Postgres and Redis."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.helpers import own_broker, s3_settings_for, start_api, start_worker, submit_job, upload_ok, wait_for_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture()
def cluster_env(service_env, redis_url, s3_endpoint, tmp_path):
    bucket = f"cluster-{os.urandom(4).hex()}"
    return own_broker({**service_env, **s3_settings_for(s3_endpoint, bucket)}, redis_url, offset=4)


def _own_disk(env: dict[str, str], path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    path.mkdir(parents=True, exist_ok=True)
    return {**env, "SLIMLINE_DATA_DIR": str(path)}


def test_ten_jobs_through_two_apis_and_two_workers_finish_once(cluster_env, auth, cnn_bytes, images_npz, tmp_path):
    processes = []
    try:
        api_a, url_a = start_api(_own_disk(cluster_env, tmp_path / "api-a"))
        api_b, url_b = start_api(_own_disk(cluster_env, tmp_path / "api-b"))
        processes += [api_a, api_b]
        processes.append(start_worker(_own_disk(cluster_env, tmp_path / "worker-1"), queues="cpu", name="worker-1"))
        processes.append(start_worker(_own_disk(cluster_env, tmp_path / "worker-2"), queues="cpu", name="worker-2"))
        with httpx.Client(base_url=url_a, timeout=30) as a, httpx.Client(base_url=url_b, timeout=30) as b:
            model = upload_ok(a, auth, "models", "cnn.onnx", cnn_bytes)  # stored through A ...
            dataset = upload_ok(b, auth, "datasets", "d.npz", images_npz)  # ... and B: only the bucket is shared
            body = {
                "model_id": model["id"],
                "dataset_id": dataset["id"],
                "passes": [{"type": "quantize", "mode": "dynamic"}],
            }
            jobs = [(a if i % 2 else b).post("/v1/jobs", headers=auth, json=body).json()["id"] for i in range(10)]
            finished = [wait_for_job(a if i % 2 else b, auth, job_id, timeout=300) for i, job_id in enumerate(jobs)]
            assert [j["status"] for j in finished] == ["succeeded"] * 10
            assert [j["attempts"] for j in finished] == [1] * 10
            for job_id in jobs:  # every job ran exactly once and its artifacts are readable through either API
                history = b.get(f"/v1/jobs/{job_id}/events", headers=auth).json()
                assert [e["data"]["to"] for e in history if e["type"] == "state"] == ["queued", "running", "succeeded"]
                assert a.get(f"/v1/jobs/{job_id}/artifacts/model.onnx", headers=auth).status_code == 200
            workers = {
                e["data"]["worker"]
                for job_id in jobs
                for e in a.get(f"/v1/jobs/{job_id}/events", headers=auth).json()
                if e["type"] == "state" and e["data"].get("to") == "running"
            }
            assert len(workers) == 2, f"both workers should have taken jobs: {workers}"
            assert not (tmp_path / "api-a" / "blobs").exists() and not (tmp_path / "api-b" / "blobs").exists()
    finally:
        for process in processes:
            process.stop()


def test_cuda_jobs_wait_for_a_gpu_worker_and_fail_clearly_without_a_gpu(
    cluster_env, auth, cnn_bytes, images_npz, tmp_path
):
    processes = []
    try:
        api, url = start_api(_own_disk(cluster_env, tmp_path / "api"))
        processes.append(api)
        processes.append(start_worker(_own_disk(cluster_env, tmp_path / "cpu"), queues="cpu", name="cpu-only"))
        with httpx.Client(base_url=url, timeout=30) as http:
            job = submit_job(http, auth, cnn_bytes, images_npz, recipe={"target": {"device": "cuda"}}, wait=False)
            time.sleep(5)
            assert http.get(f"/v1/jobs/{job['id']}", headers=auth).json()["status"] == "queued"
            processes.append(start_worker(_own_disk(cluster_env, tmp_path / "gpu"), queues="gpu", name="gpu-worker"))
            done = wait_for_job(http, auth, job["id"], timeout=120)
            assert done["status"] == "failed"
            assert done["error"]["code"] == "no_gpu" and "no GPU" in done["error"]["message"]
            running = [
                e
                for e in http.get(f"/v1/jobs/{job['id']}/events", headers=auth).json()
                if e["data"].get("to") == "running"
            ]
            assert running and "gpu" in running[0]["data"]["worker"]
    finally:
        for process in processes:
            process.stop()


@pytest.mark.parametrize("stack", [("--http", "h11", "--loop", "asyncio"), ("--http", "httptools", "--loop", "uvloop")])
def test_an_api_of_two_processes_serves_and_stops(service_env, auth, stack):
    """``slimline api --processes 2`` binds the socket itself (with TCP_NODELAY, for asyncio's sake; the
    effect is measured in benchmarks/service.py, not here) and hands it to both processes."""
    api, url = start_api(service_env, "--processes", "2", *stack)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(20):  # new connections, spread over both processes
                assert httpx.get(f"{url}/v1/models", headers=auth, timeout=30).status_code == 200
            assert http.get("/readyz").status_code == 200
    finally:
        api.stop()
    assert api.proc.poll() is not None
