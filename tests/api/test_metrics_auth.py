"""/metrics shows every tenant's traffic and job counts: it needs the metrics token, or is off."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app

TOKEN = "metrics-token-for-the-tests-0123456789"


def _scrape(settings, **headers: str):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        return client.get("/metrics", headers=headers)


@pytest.mark.parametrize("token", [None, ""])  # "": compose's ${SLIMLINE_METRICS_TOKEN:-}
def test_metrics_are_off_without_a_token(settings, token):
    assert not settings.metrics_public
    response = _scrape(settings.model_copy(update={"metrics_token": Settings(metrics_token=token).metrics_token}))
    assert response.status_code == 404 and "SLIMLINE_METRICS_TOKEN" in response.json()["detail"]
    assert "slimline_" not in response.text


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer "])
def test_metrics_refuse_a_missing_or_wrong_token(settings, header):
    guarded = settings.model_copy(update={"metrics_token": Settings(metrics_token=TOKEN).metrics_token})
    response = _scrape(guarded, **({"Authorization": header} if header else {}))
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer" and "slimline_" not in response.text


def test_metrics_with_the_token_and_when_public(settings):
    guarded = settings.model_copy(update={"metrics_token": Settings(metrics_token=TOKEN).metrics_token})
    response = _scrape(guarded, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200 and "# TYPE slimline_jobs gauge" in response.text
    public = settings.model_copy(update={"metrics_public": True})
    assert "# TYPE slimline_jobs gauge" in _scrape(public).text
