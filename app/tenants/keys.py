"""Tenants and API keys. Keys are random, shown once, and stored as sha256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.errors import Forbidden, Unauthorized
from app.core.ids import new_id
from app.core.models import ApiKey, Tenant, utcnow

KEY_PREFIX = "sk_"
# Keys verified in the last SLIMLINE_API_KEY_CACHE_S seconds skip the database (pollers send many
# requests); a key revoked elsewhere therefore keeps working for at most that long in each API process.
AUTH_CACHE_SIZE = 4096
_recent: dict[str, tuple[float, Tenant]] = {}  # sha256 -> (monotonic deadline, tenant)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def get_or_create_tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(id=new_id("tenant"), name=name)
        session.add(tenant)
        session.flush()
    return tenant


def add_key(
    session: Session,
    tenant: Tenant,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    api_key: str | None = None,
    role: str = "tenant",
) -> tuple[ApiKey, str]:
    """Add a key to ``tenant`` (``role="operator"``: it also sees the fleet). Returns the row and the plaintext
    key, which is never stored."""
    plaintext = api_key or KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("key"),
        tenant_id=tenant.id,
        key_sha256=hash_key(plaintext),
        prefix=plaintext[:8],
        name=name,
        expires_at=expires_at,
        role=role,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def create_key(
    session: Session,
    tenant_name: str,
    api_key: str | None = None,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    role: str = "tenant",
) -> tuple[Tenant, ApiKey, str]:
    """Create a key for ``tenant_name`` (created if new). Returns the plaintext key, never stored."""
    tenant = get_or_create_tenant(session, tenant_name)
    row, plaintext = add_key(session, tenant, name=name, expires_at=expires_at, api_key=api_key, role=role)
    return tenant, row, plaintext


def ensure_key(session: Session, tenant_name: str, api_key: str) -> bool:
    """Make sure ``api_key`` exists for ``tenant_name``. Returns True when it was created."""
    existing = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == hash_key(api_key)))
    if existing is not None:
        return False
    create_key(session, tenant_name, api_key)
    return True


def tenant_has_keys(session: Session, tenant_name: str) -> bool:
    """Whether the tenant holds a key that still works (not revoked, not expired)."""
    return (
        session.scalar(
            select(ApiKey.id)
            .join(Tenant)
            .where(
                Tenant.name == tenant_name,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
            )
            .limit(1)
        )
        is not None
    )


def bearer_token(authorization: str) -> str | None:
    """The API key in an ``Authorization: Bearer <key>`` header's value, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def cached_tenant(api_key: str | None) -> Tenant | None:
    """The key's tenant when this process verified the key within the cache time (no I/O)."""
    if not api_key:
        return None
    cached = _recent.get(hash_key(api_key))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def forget_cached(key_sha256: str) -> None:
    """Drop a key from this process's cache (it was just revoked here)."""
    _recent.pop(key_sha256, None)


def authenticate(session: Session, api_key: str | None, *, cache_s: float = 5.0) -> Tenant:
    """Return the key's tenant or raise Unauthorized. The lookup is by hash; the final compare is constant-time.

    A verified key is trusted for ``cache_s`` seconds (never past its expiry) without a database read.
    """
    if not api_key:
        raise Unauthorized("missing API key: send `Authorization: Bearer <key>`")
    digest = hash_key(api_key)
    cached = _recent.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    row = session.execute(
        select(ApiKey.key_sha256, ApiKey.expires_at, Tenant)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.key_sha256 == digest, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None or not hmac.compare_digest(row[0], digest):
        raise Unauthorized("invalid or revoked API key")
    expires_at: datetime | None = row[1]
    trusted_s = cache_s
    if expires_at is not None:
        left_s = (expires_at - utcnow()).total_seconds()
        if left_s <= 0:
            raise Unauthorized("expired API key")
        trusted_s = min(trusted_s, left_s)
    tenant: Tenant = row[2]
    session.expunge(tenant)
    if trusted_s > 0:
        if len(_recent) >= AUTH_CACHE_SIZE:
            _recent.clear()
        _recent[digest] = (time.monotonic() + trusted_s, tenant)
    return tenant


def require_operator(session: Session, authorization: str) -> None:
    """403 unless the request's (already authenticated) key is an operator key."""
    _, _, token = authorization.partition(" ")
    role = session.scalar(select(ApiKey.role).where(ApiKey.key_sha256 == hash_key(token.strip())))
    if role != "operator":
        raise Forbidden(
            "this needs an operator key: the fleet's workers are the operator's to see "
            "(`slimline keys create --tenant T --operator`)"
        )
