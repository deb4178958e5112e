"""Tenants and API keys. Keys are random, shown once, and stored as sha256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Unauthorized
from app.core.ids import new_id
from app.core.models import ApiKey, Tenant

KEY_PREFIX = "sk_"
# Keys verified in the last few seconds skip the database (pollers send many requests); a revoked
# key therefore keeps working for at most AUTH_CACHE_TTL_S in each API process.
AUTH_CACHE_TTL_S = 5.0
AUTH_CACHE_SIZE = 4096
_recent: dict[str, tuple[float, Tenant]] = {}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def get_or_create_tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(id=new_id("tenant"), name=name)
        session.add(tenant)
        session.flush()
    return tenant


def create_key(session: Session, tenant_name: str, api_key: str | None = None) -> tuple[Tenant, ApiKey, str]:
    """Create a key for ``tenant_name`` (created if new). Returns the plaintext key, never stored."""
    tenant = get_or_create_tenant(session, tenant_name)
    plaintext = api_key or KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=new_id("key"), tenant_id=tenant.id, key_sha256=hash_key(plaintext), prefix=plaintext[:8])
    session.add(row)
    session.flush()
    return tenant, row, plaintext


def ensure_key(session: Session, tenant_name: str, api_key: str) -> bool:
    """Make sure ``api_key`` exists for ``tenant_name``. Returns True when it was created."""
    existing = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == hash_key(api_key)))
    if existing is not None:
        return False
    create_key(session, tenant_name, api_key)
    return True


def tenant_has_keys(session: Session, tenant_name: str) -> bool:
    return (
        session.scalar(
            select(ApiKey.id).join(Tenant).where(Tenant.name == tenant_name, ApiKey.revoked_at.is_(None)).limit(1)
        )
        is not None
    )


def cached_tenant(api_key: str | None) -> Tenant | None:
    """The key's tenant when this process verified the key in the last AUTH_CACHE_TTL_S (no I/O)."""
    if not api_key:
        return None
    cached = _recent.get(hash_key(api_key))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def authenticate(session: Session, api_key: str | None) -> Tenant:
    """Return the key's tenant or raise Unauthorized. The lookup is by hash; the final compare is constant-time."""
    if not api_key:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    digest = hash_key(api_key)
    cached = _recent.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    row = session.execute(
        select(ApiKey.key_sha256, Tenant)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_sha256 == digest, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None or not hmac.compare_digest(row[0], digest):
        raise Unauthorized("invalid or revoked API key")
    tenant: Tenant = row[1]
    session.expunge(tenant)
    if len(_recent) >= AUTH_CACHE_SIZE:
        _recent.clear()
    _recent[digest] = (time.monotonic() + AUTH_CACHE_TTL_S, tenant)
    return tenant
