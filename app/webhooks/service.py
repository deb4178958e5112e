"""The tenant's webhook signing secret: created on first use, replaced on rotation."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from app.core.models import Tenant


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _locked_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    assert tenant is not None
    return tenant


def ensure_secret(session: Session, tenant_id: str) -> str:
    """The tenant's webhook secret, created on first use."""
    tenant = _locked_tenant(session, tenant_id)
    if not tenant.webhook_secret:
        tenant.webhook_secret = _new_secret()
        session.flush()
    return tenant.webhook_secret


def rotate_secret(session: Session, tenant_id: str) -> str:
    """Replace the tenant's webhook secret; deliveries leased after the commit are signed with the new one."""
    tenant = _locked_tenant(session, tenant_id)
    tenant.webhook_secret = _new_secret()
    session.flush()
    return tenant.webhook_secret
