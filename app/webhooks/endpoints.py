"""The tenant's webhook signing secret: read it, rotate it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import SessionDep, SettingsDep, TenantDep
from app.http import PROBLEM
from app.webhooks import service
from app.webhooks.schemas import WebhookSecret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.get(
    "/secret",
    response_model=WebhookSecret,
    responses={401: PROBLEM},
    operation_id="get_webhook_secret",
    summary="The secret that signs this tenant's webhooks (created on first read)",
)
def get_secret(tenant: TenantDep, session: SessionDep, settings: SettingsDep) -> Any:
    secret = service.ensure_secret(session, tenant.id, settings.master_keys)
    session.commit()
    return {"secret": secret}


@router.post(
    "/secret/rotate",
    response_model=WebhookSecret,
    responses={401: PROBLEM},
    operation_id="rotate_webhook_secret",
    summary="Replace the webhook secret; later deliveries use the new one",
)
def rotate_secret(tenant: TenantDep, session: SessionDep, settings: SettingsDep) -> Any:
    secret = service.rotate_secret(session, tenant.id, settings.master_keys)
    session.commit()
    return {"secret": secret}
