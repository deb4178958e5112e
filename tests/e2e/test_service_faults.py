"""Faults around the service: Postgres restarted, Redis restarted, disks full."""

from __future__ import annotations

import subprocess
import time
import uuid

import httpx
import pytest

from tests.factories import mlp_onnx
from tests.helpers import new_api_key, own_broker, start_api, start_worker, upload, upload_ok, wait_for_job
from tests.helpers.services import private_postgres, private_redis

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _wait(predicate, timeout: float = 60, interval: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - the service is expected to be down for a while
            pass
        time.sleep(interval)
    return False


@pytest.fixture()
def own_redis_db(service_env, redis_url):
    return own_broker(service_env, redis_url, offset=2)


def test_postgres_restart_gives_503_then_recovers_without_restarting_the_api(own_redis_db):
    with private_postgres() as postgres:  # a cluster of its own: the suite's other processes use the shared one
        key = {"Authorization": f"Bearer {new_api_key(postgres.url)}"}
        api, url = start_api({**own_redis_db, "SLIMLINE_DATABASE_URL": postgres.url})
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                assert http.get("/v1/jobs", headers=key).status_code == 200
                # The polling path has its own pool (no pre-ping): this leaves a connection in it.
                assert http.get("/v1/jobs/job_missing", headers=key).status_code == 404
                postgres.stop()
                try:
                    down = http.get("/v1/jobs", headers=key)
                    assert down.status_code == 503, down.text
                    assert down.headers["content-type"].startswith("application/problem+json")
                    assert down.json()["code"] == "database_unavailable" and down.headers["retry-after"]
                    assert http.get("/readyz").status_code == 503
                    assert http.get("/healthz").status_code == 200
                finally:
                    postgres.start()
                assert _wait(lambda: http.get("/v1/jobs", headers=key).status_code == 200, timeout=60)
                assert http.get("/readyz").status_code == 200
                # Its pooled connection died with the server: the first read after the restart is retried
                # on a fresh connection instead of failing.
                again = http.get("/v1/jobs/job_missing", headers=key)
                assert again.status_code == 404, again.text
        finally:
            api.stop()


def test_redis_restart_loses_no_job(service_env, auth, cnn_bytes, images_npz):
    with private_redis() as redis_server:  # a server of its own: the suite's other processes use the shared one
        env = {**service_env, "SLIMLINE_BROKER_URL": redis_server.url}
        api, url = start_api(env)
        worker = None
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                model = upload_ok(http, auth, "models", "cnn.onnx", cnn_bytes)
                dataset = upload_ok(http, auth, "datasets", "d.npz", images_npz)
                body = {
                    "model_id": model["id"],
                    "dataset_id": dataset["id"],
                    "passes": [{"type": "quantize", "mode": "dynamic"}],
                }
                jobs = [http.post("/v1/jobs", headers=auth, json=body).json()["id"] for _ in range(3)]
                # Redis restarts with the three messages queued and no persistence: they are gone.
                redis_server.stop()
                redis_server.start()
                worker = start_worker(env, name="after-redis-restart")
                finished = [wait_for_job(http, auth, job_id, timeout=240) for job_id in jobs]
                assert [j["status"] for j in finished] == ["succeeded"] * 3
                assert [j["attempts"] for j in finished] == [1, 1, 1]
        finally:
            if worker is not None:
                worker.stop()
            api.stop()


@pytest.fixture()
def tiny_disk(tmp_path):
    mount_point = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.parametrize("full", ["staging", "storage"])
def test_full_disk_during_upload_is_507_and_leaves_nothing(settings, auth, tiny_disk, tmp_path, full):
    from fastapi.testclient import TestClient

    from app.main import create_app

    roomy = tmp_path / "roomy"
    staging = tiny_disk if full == "staging" else roomy / "staging"
    storage = tiny_disk / "blobs" if full == "storage" else roomy / "blobs"
    limited = settings.model_copy(update={"tmp_dir": staging, "storage_url": storage.as_uri()})
    payload = mlp_onnx(tmp_path / "mlp.onnx", features=256, hidden=512).read_bytes()
    assert len(payload) > 256 * 1024  # a valid model larger than the disk
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        response = upload(client, auth, "models", "big.onnx", payload)
    assert response.status_code == 507, response.text
    assert response.json()["code"] == "insufficient_storage"
    leftovers = [p for p in tiny_disk.rglob("*") if p.is_file()] + [p for p in roomy.rglob("*") if p.is_file()]
    assert leftovers == []
