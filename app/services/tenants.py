"""Tenant-level secrets kept in the database: the wrapped data key used for blob encryption."""

from __future__ import annotations

from sqlalchemy import select, update

from app.db import session_scope
from app.models import Tenant


def load_wrapped_data_key(database_url: str, tenant_id: str) -> str | None:
    with session_scope(database_url) as session:
        return session.scalar(select(Tenant.data_key_wrapped).where(Tenant.id == tenant_id))


def store_wrapped_data_key(database_url: str, tenant_id: str, wrapped: str) -> str:
    """Set the tenant's wrapped key unless another process set one first; returns the one that won."""
    with session_scope(database_url) as session:
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant_id, Tenant.data_key_wrapped.is_(None))
            .values(data_key_wrapped=wrapped)
        )
        winner = session.scalar(select(Tenant.data_key_wrapped).where(Tenant.id == tenant_id))
    if winner is None:
        raise LookupError(f"tenant {tenant_id!r} does not exist")
    return winner
