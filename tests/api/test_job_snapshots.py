"""Job snapshots (issue 19, point 12): GET /v1/jobs/{id} serves a cached document, and a commit is seen
within the stated bound (docs/architecture.md §3, "Job snapshots"):

- every mode: a GET sees the API process's own commits (a cancel) at once, and any other process's
  commit (a worker, another replica) once ``LOCAL_TTL_S`` has passed since it;
- Postgres + Redis: the shared copy in Redis is invalid from the commit on.

Polls with a cached key and snapshot are answered by the fast path (app/jobs/polling.py), before the
routing: the bound holds for them too (tests/api/test_job_poll_fast_path.py: they answer what the route does).
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis

from app.core.settings import Settings
from app.jobs import snapshots
from tests.helpers import REPO, new_api_key, upload_ok
from tests.helpers.asgi import asgi_get
from tests.hostile import valid_onnx


def _dataset() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.random.default_rng(0).random((8, 4), dtype=np.float32))
    return buffer.getvalue()


def _queued_job(client: httpx.Client, auth: dict[str, str]) -> dict:
    """A job no worker takes (the gpu queue): it stays queued until the test moves it."""
    model = upload_ok(client, auth, "models", "tiny.onnx", valid_onnx())
    dataset = upload_ok(client, auth, "datasets", "x.npz", _dataset())
    body = {"model_id": model["id"], "dataset_id": dataset["id"], "target": {"device": "cuda"}}
    response = client.post("/v1/jobs", headers=auth, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def _get(client: httpx.Client, auth: dict[str, str], job_id: str, etag: str | None = None) -> httpx.Response:
    headers = {**auth, "If-None-Match": etag} if etag else auth
    return client.get(f"/v1/jobs/{job_id}", headers=headers)


def _claim_in_another_process(env: dict[str, str], job_id: str) -> None:
    """What a worker does first (queued -> running, then a progress report), in its own interpreter."""
    script = (
        "import sys\n"
        "from app.core.db import session_scope\n"
        "from app.core.settings import get_settings\n"
        "from app.jobs import lifecycle\n"
        "with session_scope(get_settings().database_url) as session:\n"
        "    claimed = lifecycle.claim(session, sys.argv[1], 'snapshot-test')\n"
        "    assert claimed is not None\n"
        "with session_scope(get_settings().database_url) as session:\n"
        "    assert lifecycle.record_progress(session, sys.argv[1], claimed.attempt, stage='baseline', progress=0.25)\n"
    )
    subprocess.run([sys.executable, "-c", script, job_id], env=env, cwd=REPO, check=True, timeout=60)


def test_snapshot_is_the_documents_bytes_and_304_holds(client, auth, settings):
    job = _queued_job(client, auth)
    first, second = _get(client, auth, job["id"]), _get(client, auth, job["id"])  # a miss, then a hit
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert first.json() == job  # the document the create route returned
    assert _get(client, auth, job["id"], etag=first.headers["etag"]).status_code == 304
    # The second read was served from Redis: the snapshot holds exactly the bytes and ETag sent.
    [key] = redis.Redis.from_url(settings.broker_url).keys(f"slimline:job-snapshot:*:{job['id']}")
    stored = redis.Redis.from_url(settings.broker_url).get(key)
    assert stored.split(b"\n", 2)[1:] == [first.headers["etag"].encode(), first.content]


def test_cancel_through_the_api_is_seen_by_the_next_read(client, auth):
    job = _queued_job(client, auth)
    before = _get(client, auth, job["id"])
    assert before.json()["status"] == "queued"
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth).status_code == 200
    after = _get(client, auth, job["id"], etag=before.headers["etag"])
    assert after.status_code == 200 and after.json()["status"] == "cancelled"
    assert after.headers["etag"] != before.headers["etag"]


def _wait_out_the_bound(committed: float) -> None:
    """Within the bound a read may still be an API process's in-process copy; after it, it cannot be."""
    time.sleep(max(0.0, committed + snapshots.LOCAL_TTL_S - time.monotonic()))


def test_a_workers_commit_is_seen_within_the_bound_on_redis(client, auth, service_env, settings):
    job = _queued_job(client, auth)
    before = _get(client, auth, job["id"])
    assert _get(client, auth, job["id"]).content == before.content  # cached
    cached_poll = asgi_get(client.app, f"/v1/jobs/{job['id']}", auth)
    assert not cached_poll.routed and cached_poll.body == before.content, "answered by the fast path"
    [key] = redis.Redis.from_url(settings.broker_url).keys(f"slimline:job-snapshot:*:{job['id']}")
    tenant_id = key.decode().split(":")[2]
    shared = snapshots.RedisStore(settings.broker_url)
    cached = snapshots.Snapshot(before.headers["etag"], before.content)
    assert asyncio.run(shared.get(tenant_id, job["id"]))[0] == cached
    _claim_in_another_process(service_env, job["id"])
    committed = time.monotonic()
    # The shared copy is invalid from the commit on: a replica without an in-process copy reads afresh.
    assert asyncio.run(shared.get(tenant_id, job["id"]))[0] is None
    _wait_out_the_bound(committed)
    after = _get(client, auth, job["id"], etag=before.headers["etag"])
    assert after.status_code == 200, after.text
    assert (after.json()["status"], after.json()["stage"], after.json()["progress"]) == ("running", "baseline", 0.25)
    assert after.headers["etag"] != before.headers["etag"]
    again = asgi_get(client.app, f"/v1/jobs/{job['id']}", auth)  # cached again: the fast path has the new bytes
    assert not again.routed and again.body == after.content


def test_another_tenant_gets_404_for_a_cached_job(client, auth, settings):
    job = _queued_job(client, auth)
    assert _get(client, auth, job["id"]).status_code == 200  # now cached for its tenant
    other = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    for _ in range(2):
        response = _get(client, other, job["id"])
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert _get(client, other, job["id"], etag=_get(client, auth, job["id"]).headers["etag"]).status_code == 404


@pytest.fixture()
def embedded(tmp_path: Path) -> Iterator[tuple[httpx.Client, dict[str, str], dict[str, str]]]:
    """The API on the embedded defaults (SQLite, SQLite broker): in-process snapshots."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = Settings(data_dir=tmp_path / "home")
    env = {"SLIMLINE_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert isinstance(snapshots.store_for(settings.database_url, settings.broker_url), snapshots.LocalStore)
        yield client, {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}, env


def test_embedded_mode_sees_its_own_commits_at_once_and_a_workers_within_the_bound(embedded):
    client, auth, env = embedded
    job = _queued_job(client, auth)
    before = _get(client, auth, job["id"])
    assert not asgi_get(client.app, f"/v1/jobs/{job['id']}", auth).routed, "answered by the fast path"
    _claim_in_another_process(env, job["id"])
    _wait_out_the_bound(time.monotonic())
    after = _get(client, auth, job["id"], etag=before.headers["etag"])
    assert after.status_code == 200 and after.json()["status"] == "running", after.text
    assert after.headers["etag"] != before.headers["etag"]
    # The API's own commit (a cancel) is seen by the very next read, the fast path's included.
    assert not asgi_get(client.app, f"/v1/jobs/{job['id']}", auth).routed
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth).status_code == 200
    cancelled = asgi_get(client.app, f"/v1/jobs/{job['id']}", auth)
    assert cancelled.routed and b'"status":"cancelled"' in cancelled.body
    assert _get(client, auth, job["id"]).json()["status"] == "cancelled"
    other = {"Authorization": f"Bearer {new_api_key(str(client.app.state.settings.database_url))}"}
    assert _get(client, other, job["id"]).status_code == 404
