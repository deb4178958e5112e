"""Readiness checks: can this process reach the database and the broker?"""

from __future__ import annotations

from sqlalchemy import text

from app.core.db import get_engine
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
