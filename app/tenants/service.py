"""API keys as their tenant (or the operator) manages them: list, revoke."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.core.models import ApiKey, utcnow


def list_keys(session: Session, tenant_id: str) -> Sequence[ApiKey]:
    """Every key of the tenant, revoked and expired ones included, oldest first."""
    return session.scalars(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at, ApiKey.id)
    ).all()


def revoke_key(session: Session, key_id: str, *, tenant_id: str | None) -> ApiKey:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time).

    ``tenant_id``: the key must belong to it (another tenant's key is NotFound); None for the operator.
    """
    query = select(ApiKey).where(ApiKey.id == key_id).with_for_update()
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"API key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row
