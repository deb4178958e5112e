"""Tenant-level secrets kept in the database: the wrapped data key used for blob encryption (and for
sealing the tenant's short secrets, such as its webhook signing secret)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.models import Tenant


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


def tenant_data_key(session: Session, tenant: Tenant, master: bytes, previous: bytes | None) -> bytes:
    """The tenant's data key, unwrapped; created in this transaction if the tenant has none yet.

    The caller holds the tenant row (SELECT ... FOR UPDATE), so a keyring in another process that
    creates one at the same time waits and then finds this one (``store_wrapped_data_key``).
    """
    from app.core.crypto import new_data_key, unwrap_with_either, wrap_data_key

    if tenant.data_key_wrapped is None:
        tenant.data_key_wrapped = wrap_data_key(master, tenant.id, new_data_key())
        session.flush()
    return unwrap_with_either(master, previous, tenant.id, tenant.data_key_wrapped)


def rewrap_data_keys(database_url: str, master: bytes, previous: bytes | None) -> tuple[int, int]:
    """Re-wrap every tenant's data key with ``master`` (opening it with ``master`` or ``previous``).

    One transaction: either every key moves to the new master key or none does. No blob and no sealed
    secret is rewritten (both are sealed with the data keys, which do not change). Returns (re-wrapped,
    already current).
    """
    from app.core.crypto import BlobIntegrityError, unwrap_data_key, wrap_data_key

    rewrapped = current = 0
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Tenant.id, Tenant.data_key_wrapped).where(Tenant.data_key_wrapped.is_not(None)).with_for_update()
        ).all()
        for tenant_id, wrapped in rows:
            if wrapped is None:  # filtered out above; keeps the type checker informed
                continue
            try:
                unwrap_data_key(master, tenant_id, wrapped)
                current += 1
                continue
            except BlobIntegrityError:
                if previous is None:
                    raise
                data_key = unwrap_data_key(previous, tenant_id, wrapped)
            session.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id)
                .values(data_key_wrapped=wrap_data_key(master, tenant_id, data_key))
            )
            rewrapped += 1
    return rewrapped, current
