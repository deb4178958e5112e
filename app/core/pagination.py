"""Keyset (cursor) pagination over ``(created_at DESC, id DESC)``: constant time per page."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.ids import could_exist
from app.core.models import UTCDateTime

T = TypeVar("T")
MAX_LIMIT = 200


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def as_utc(value: datetime, *, field: str) -> datetime:
    """``value`` in UTC; InvalidInput (422) if it has no time zone or falls outside years 1-9999 in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{field} needs a time zone (e.g. 2026-01-01T00:00:00Z)",
            errors=[{"field": field, "message": "naive datetime"}],
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"{field} is out of range: in UTC it must fall between years 1 and 9999",
            errors=[{"field": field, "message": "datetime out of range"}],
        ) from None


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(created_at, id)`` a cursor points after; InvalidInput (422) for anything this API did not issue."""
    invalid = InvalidInput("invalid cursor", errors=[{"field": "cursor", "message": "not a cursor from this API"}])
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        created_at = datetime.fromisoformat(created)
    except (ValueError, TypeError, RecursionError):
        raise invalid from None
    if not isinstance(row_id, str) or not could_exist(row_id) or created_at.tzinfo is None:
        raise invalid
    try:
        return created_at.astimezone(UTC), row_id
    except OverflowError:
        raise invalid from None


def paginate(
    session: Session, stmt: Select[Any], entity: Any, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Apply the cursor and limit to ``stmt`` (which selects ``entity``); return rows and the next cursor."""
    if cursor:
        created, row_id = decode_cursor(cursor)
        # A row-value comparison: Postgres turns it into one index range scan (constant time per page).
        stmt = stmt.where(
            tuple_(entity.created_at, entity.id) < tuple_(literal(created, UTCDateTime()), literal(row_id))
        )
    rows = list(session.scalars(stmt.order_by(entity.created_at.desc(), entity.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor
