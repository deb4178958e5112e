"""Liveness, readiness, metrics, request ids, unknown routes."""

from __future__ import annotations


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_an_unreachable_broker(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    broken = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unreachable"


def test_metrics_expose_requests_and_jobs(settings, auth):
    from fastapi.testclient import TestClient

    from app.core.settings import Settings
    from app.main import create_app

    token = "metrics-token-for-the-tests-0123456789"  # /metrics is off without one (tests/api/test_metrics_auth.py)
    scraped = settings.model_copy(update={"metrics_token": Settings(metrics_token=token).metrics_token})
    with TestClient(create_app(scraped)) as client:
        client.get("/v1/models", headers=auth)
        text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert 'slimline_http_requests_total{method="GET",route="/v1/models",status="200"}' in text
    assert "slimline_http_request_duration_seconds_bucket" in text
    assert "# TYPE slimline_jobs gauge" in text
    assert "# TYPE slimline_job_duration_seconds histogram" in text


def test_request_id_is_echoed_and_in_problems(client):
    response = client.get("/v1/nothing-here", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-123"
    assert response.json()["request_id"] == "req-123"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_wrong_method_is_405_problem(client):
    response = client.put("/v1/models")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_oversized_json_body_is_413(client, auth):
    from app.core.settings import Settings  # noqa: F401 - documents where the limit comes from

    response = client.post(
        "/v1/jobs", headers={**auth, "Content-Type": "application/json"}, content=b" " * (2 * 1024**2)
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_chunked_json_body_over_the_limit_is_413(client, auth):
    def chunks():
        for _ in range(40):
            yield b" " * 65536

    response = client.post("/v1/jobs", headers={**auth, "Content-Type": "application/json"}, content=chunks())
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
