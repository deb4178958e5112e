"""Keyset (cursor) pagination over ``(created_at DESC, id DESC)``: constant time per page."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.models import UTCDateTime

T = TypeVar("T")
MAX_LIMIT = 200


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return datetime.fromisoformat(created), str(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "invalid cursor", errors=[{"field": "cursor", "message": "not a cursor from this API"}]
        ) from exc


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
