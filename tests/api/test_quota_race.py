"""Quotas hold under concurrency (issue 19): N requests at once against a limit of L admit exactly L.

Each count and the insert it admits run under a lock on the tenant (app.tenants.limits.lock_tenant),
on Postgres and on the embedded SQLite database alike. The jobs go to a Redis database no worker
reads, so none leaves the queue while the test counts. 200 creations against the active-jobs limit
run against real servers in tests/e2e/test_abuse_limits.py.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import cancel_all, new_api_key, own_broker, upload, upload_ok


@pytest.fixture(params=["postgres", "sqlite"])
def limited(request, settings, service_env, redis_url, tmp_path):
    """``make(**limits)``: a client of an app with these limits, on the backend of the test's parameter."""
    backend = {"broker_url": own_broker(service_env, redis_url, offset=3)["SLIMLINE_BROKER_URL"]}
    if request.param == "sqlite":
        backend["database_url"] = f"sqlite:///{tmp_path / 'slimline.db'}"

    def make(**limits):
        return TestClient(create_app(settings.model_copy(update={**backend, **limits})), raise_server_exceptions=False)

    return make


def _auth(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_api_key(client.app.state.settings.database_url)}"}


def _all_at_once(count: int, call) -> list:
    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def _refusals_are_429_with_retry_after(responses, accepted_status: int) -> None:
    for response in responses:
        if response.status_code != accepted_status:
            assert response.status_code == 429, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert int(response.headers["retry-after"]) >= 1


def test_concurrent_job_creations_admit_exactly_the_per_minute_limit(limited, cnn_bytes, images_npz):
    with limited(tenant_max_active_jobs=1000, tenant_jobs_per_minute=20) as client:
        auth = _auth(client)
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
        body = {"model_id": model["id"], "dataset_id": dataset["id"]}

        responses = _all_at_once(40, lambda: client.post("/v1/jobs", headers=auth, json=body))
        cancel_all(client, auth, [r.json()["id"] for r in responses if r.status_code == 202])

        assert Counter(r.status_code for r in responses) == {202: 20, 429: 20}
        _refusals_are_429_with_retry_after(responses, 202)


def test_concurrent_uploads_admit_exactly_the_per_minute_limit(limited, mlp_bytes):
    with limited(tenant_uploads_per_minute=20, tenant_max_concurrent_uploads=30) as client:
        auth = _auth(client)

        responses = _all_at_once(30, lambda: upload(client, auth, "models", "m.onnx", mlp_bytes))

        assert Counter(r.status_code for r in responses) == {201: 20, 429: 10}
        _refusals_are_429_with_retry_after(responses, 201)
        assert {r.json()["code"] for r in responses if r.status_code == 429} == {"rate_limited"}
        assert len(client.get("/v1/models", headers=auth, params={"limit": 100}).json()["items"]) == 20
        assert upload(client, auth, "datasets", "d.npz", b"late").status_code == 429
