"""The polling fast path (app/jobs/polling.py) answers exactly what the route answers.

Each poll goes to two apps on the same database, Redis and process caches: the service as it runs
(fast path on) and one with SLIMLINE_JOB_POLL_FAST_PATH=false (every poll takes FastAPI's route).
Both must send the same status, headers (in order, the request id included) and body bytes, log the
same access line and count the same metrics; the scope shows which requests skipped the routing.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.db import session_scope
from app.core.settings import Settings
from app.main import create_app
from app.tenants.service import revoke_key
from tests.helpers import new_api_key, upload_ok
from tests.helpers.asgi import Answer, asgi_get
from tests.hostile import valid_onnx

CACHE_S = 1.0  # API keys trusted this long without a database read, in this module's apps


@pytest.fixture(scope="module")
def apps(settings: Settings) -> tuple[FastAPI, FastAPI]:
    """(fast path on, fast path off), keys cached for CACHE_S."""
    cached = settings.model_copy(update={"api_key_cache_s": CACHE_S})
    return create_app(cached), create_app(cached.model_copy(update={"job_poll_fast_path": False}))


def _queued_job(client: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    """A job no worker takes (the gpu queue): it stays queued."""
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros((8, 4), dtype=np.float32))
    model = upload_ok(client, auth, "models", "tiny.onnx", valid_onnx())
    dataset = upload_ok(client, auth, "datasets", "x.npz", buffer.getvalue())
    body = {"model_id": model["id"], "dataset_id": dataset["id"], "target": {"device": "cuda"}}
    response = client.post("/v1/jobs", headers=auth, json=body)
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def _counters(app: FastAPI) -> dict[str, float]:
    """The app's request counts for the route, by status, and its latency histogram's count."""
    registry, labels = app.state.metrics.registry, {"method": "GET", "route": "/v1/jobs/{job_id}"}
    counts = {
        str(status): registry.get_sample_value("slimline_http_requests_total", {**labels, "status": str(status)})
        for status in (200, 304, 401, 404)
    }
    counts["latency"] = registry.get_sample_value("slimline_http_request_duration_seconds_count", labels)
    return {name: value or 0.0 for name, value in counts.items()}


def _same(apps: tuple[FastAPI, FastAPI], job_id: str, headers: dict[str, str], caplog: Any) -> tuple[Answer, Answer]:
    """The poll through both apps (same request id): equal answers, access lines and metric counts."""
    answers, lines = [], []
    for app in apps:
        before = _counters(app)
        caplog.clear()
        answer = asgi_get(app, f"/v1/jobs/{job_id}", {**headers, "X-Request-Id": "poll-equivalence"})
        [line] = [r for r in caplog.records if r.name == "slimline.api" and r.getMessage() == "request"]
        lines.append({k: getattr(line, k) for k in ("method", "path", "route", "status")})
        after = _counters(app)
        counted = {k for k in after if after[k] != before[k]}
        assert counted == {str(answer.status), "latency"}
        assert after[str(answer.status)] == before[str(answer.status)] + 1 and after["latency"] == before["latency"] + 1
        answers.append(answer)
    fast, plain = answers
    assert (fast.status, fast.headers, fast.body) == (plain.status, plain.headers, plain.body)
    assert lines[0] == lines[1]
    assert plain.routed, "the app without the fast path always routes"
    return fast, plain


@pytest.fixture()
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="slimline.api")
    return caplog


def test_own_job_and_if_none_match_are_answered_without_routing(client, auth, apps, access_log):
    job = _queued_job(client, auth)
    first = asgi_get(apps[0], f"/v1/jobs/{job['id']}", auth)  # key and snapshot now cached
    assert first.status == 200
    fast, plain = _same(apps, job["id"], auth, access_log)
    assert not fast.routed, "a cached poll skips the routing"
    assert fast.status == 200 and fast.body == first.body and fast.header("etag") == first.header("etag")
    assert [k for k, _ in fast.headers] == [
        b"etag",
        b"cache-control",
        b"content-length",
        b"content-type",
        b"x-request-id",
    ]
    etag = fast.header("etag")
    assert etag is not None
    for if_none_match, status in ((etag, 304), (f'"other", {etag}', 304), ('"other"', 200), ("", 200)):
        fast, _ = _same(apps, job["id"], {**auth, "If-None-Match": if_none_match}, access_log)
        assert fast.status == status and not fast.routed, if_none_match
    assert fast.header("cache-control") == "no-cache"


def test_what_the_fast_path_does_not_know_takes_the_route(client, auth, apps, settings, access_log):
    job = _queued_job(client, auth)
    other = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    asgi_get(apps[0], f"/v1/jobs/{job['id']}", auth)  # cached for its own tenant
    asgi_get(apps[0], f"/v1/jobs/{job['id']}", other)  # the other key is now cached too
    for headers, status in (
        (other, 404),  # another tenant's job: its snapshot key is the other tenant's, never this one
        ({}, 401),  # no key
        ({"Authorization": "Bearer sk_not-a-key"}, 401),
        ({"Authorization": auth["Authorization"].replace("Bearer", "Basic")}, 401),
    ):
        fast, plain = _same(apps, job["id"], headers, access_log)
        assert fast.status == status and fast.routed, (headers, fast.body)
        assert fast.header("content-type") == "application/problem+json"
    fast, _ = _same(apps, "job_doesnotexist", auth, access_log)
    assert fast.status == 404 and fast.routed
    # Other paths and methods under the prefix are the routes' own.
    assert client.get(f"/v1/jobs/{job['id']}/events", headers=auth).status_code == 200
    assert client.head(f"/v1/jobs/{job['id']}", headers=auth).status_code == 405


def test_a_revoked_key_is_refused_by_the_fast_path_within_the_cache_time(client, auth, apps, settings, access_log):
    job = _queued_job(client, auth)
    # Another tenant's key, to revoke from elsewhere: first used (verified, cached for CACHE_S) here.
    own = {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}
    theirs = _queued_job(TestClient(apps[0]), own)
    verified_at = time.monotonic()
    [key] = TestClient(apps[0]).get("/v1/keys", headers=own).json()["items"]
    asgi_get(apps[0], f"/v1/jobs/{theirs['id']}", own)  # the snapshot cached
    fast, _ = _same(apps, theirs["id"], own, access_log)
    assert fast.status == 200 and not fast.routed
    # Revoked by the operator (another process): trusted at most CACHE_S more, like the route does.
    with session_scope(settings.database_url) as session:
        revoke_key(session, key["id"], tenant_id=None)
    time.sleep(max(0.0, verified_at + CACHE_S - time.monotonic()) + 0.05)
    fast, _ = _same(apps, theirs["id"], own, access_log)
    assert fast.status == 401 and fast.routed and b"revoked" in fast.body
    # Revoked through this process's API: refused at once, cache or not.
    asgi_get(apps[0], f"/v1/jobs/{job['id']}", auth)
    assert not asgi_get(apps[0], f"/v1/jobs/{job['id']}", auth).routed
    fast_client = TestClient(apps[0])
    [mine] = fast_client.get("/v1/keys", headers=auth).json()["items"]
    assert fast_client.delete(f"/v1/keys/{mine['id']}", headers=auth).status_code == 200
    fast, _ = _same(apps, job["id"], auth, access_log)
    assert fast.status == 401 and fast.routed
