"""Readiness checks (can this process reach the database and the broker?) and who may read /metrics."""

from __future__ import annotations

import hmac

from sqlalchemy import text

from app.core.db import get_engine
from app.core.errors import NotFound, Unauthorized
from app.core.settings import Settings
from app.jobs.routing import broker_reachable


def database_ok(database_url: str) -> bool:
    try:
        with get_engine(database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any driver error means "not ready"
        return False


def broker_ok(settings: Settings) -> bool:
    return broker_reachable(settings)


def check_metrics_access(settings: Settings, bearer: str | None) -> None:
    """Allow a /metrics scrape or raise: 401 without the metrics token, 404 when /metrics is off.

    /metrics names every tenant's routes and job counts, so it is never public by default:
    SLIMLINE_METRICS_TOKEN set: the scraper sends it as a bearer token; unset: off (404) unless
    SLIMLINE_METRICS_PUBLIC=true (for a listener only the scraper reaches).
    """
    token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else ""
    if not token:
        if settings.metrics_public:
            return
        raise NotFound("/metrics is off: set SLIMLINE_METRICS_TOKEN (or SLIMLINE_METRICS_PUBLIC=true)")
    if bearer is None or not hmac.compare_digest(bearer.encode(), token.encode()):
        raise Unauthorized(
            "/metrics needs `Authorization: Bearer <SLIMLINE_METRICS_TOKEN>`", headers={"WWW-Authenticate": "Bearer"}
        )
