"""The tenant's webhook signing secret: created on first use, replaced on rotation, sealed at rest.

With SLIMLINE_ENCRYPTION_KEY set the column holds the secret sealed with the tenant's data key
(``app.core.crypto.seal_secret``); without it, plaintext. ``keys`` is ``Settings.master_keys``.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.crypto import BlobIntegrityError, is_sealed_secret, open_secret, seal_secret
from app.core.errors import ServiceUnavailable
from app.core.models import Tenant
from app.core.storage.data_keys import tenant_data_key

MasterKeys = tuple[bytes | None, bytes | None]
PURPOSE = "webhook_secret"


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _locked_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    assert tenant is not None
    return tenant


def _store(session: Session, tenant: Tenant, plaintext: str, keys: MasterKeys) -> str:
    master, previous = keys
    if master is None:
        tenant.webhook_secret = plaintext
    else:
        data_key = tenant_data_key(session, tenant, master, previous)
        tenant.webhook_secret = seal_secret(data_key, tenant.id, PURPOSE, plaintext)
    session.flush()
    return plaintext


def _open(session: Session, tenant: Tenant, stored: str, keys: MasterKeys) -> str:
    master, previous = keys
    if not is_sealed_secret(stored):
        if master is not None:  # left from before encryption was turned on: seal it now
            _store(session, tenant, stored, keys)
        return stored
    if master is None:
        raise ServiceUnavailable(
            "the webhook secret is sealed at rest and SLIMLINE_ENCRYPTION_KEY is not set: it cannot be read"
        )
    try:
        return open_secret(tenant_data_key(session, tenant, master, previous), tenant.id, PURPOSE, stored)
    except BlobIntegrityError as exc:
        raise ServiceUnavailable(str(exc)) from exc


def ensure_secret(session: Session, tenant_id: str, keys: MasterKeys) -> str:
    """The tenant's webhook secret (plaintext), created on first use."""
    tenant = _locked_tenant(session, tenant_id)
    if not tenant.webhook_secret:
        return _store(session, tenant, _new_secret(), keys)
    return _open(session, tenant, tenant.webhook_secret, keys)


def rotate_secret(session: Session, tenant_id: str, keys: MasterKeys) -> str:
    """Replace the tenant's webhook secret; deliveries leased after the commit are signed with the new one."""
    return _store(session, _locked_tenant(session, tenant_id), _new_secret(), keys)


def seal_plaintext_secrets(session: Session, keys: MasterKeys) -> int:
    """Seal every webhook secret still stored in plaintext (encryption turned on later). Returns how many."""
    if keys[0] is None:
        return 0
    tenant_ids = session.scalars(
        select(Tenant.id).where(Tenant.webhook_secret.is_not(None), Tenant.webhook_secret.not_like("sealed:%"))
    ).all()
    for tenant_id in tenant_ids:
        tenant = _locked_tenant(session, tenant_id)
        if tenant.webhook_secret and not is_sealed_secret(tenant.webhook_secret):
            _store(session, tenant, tenant.webhook_secret, keys)
    return len(tenant_ids)
