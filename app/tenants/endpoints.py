"""The caller's API keys: list them, revoke one. Keys are created by the operator (`slimline keys create`):
a key that could mint keys would outlive its own expiry or revocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import SessionDep, TenantDep
from app.http import problems
from app.tenants import service
from app.tenants.keys import forget_cached
from app.tenants.schemas import ApiKeyList, ApiKeyRead

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get(
    "",
    response_model=ApiKeyList,
    responses=problems(401),
    operation_id="list_keys",
    summary="This tenant's API keys (never the keys themselves), revoked and expired ones included",
)
def list_keys(tenant: TenantDep, session: SessionDep) -> Any:
    return {"items": [ApiKeyRead.model_validate(row) for row in service.list_keys(session, tenant.id)]}


@router.delete(
    "/{key_id}",
    response_model=ApiKeyRead,
    responses=problems(401, 404, 422),
    operation_id="revoke_key",
    summary="Revoke one of this tenant's keys (the one making the request too); other API processes "
    "stop accepting it within SLIMLINE_API_KEY_CACHE_S",
)
def revoke_key(key_id: str, tenant: TenantDep, session: SessionDep) -> Any:
    row = service.revoke_key(session, key_id, tenant_id=tenant.id)
    session.commit()
    forget_cached(row.key_sha256)  # this process stops accepting it at once
    return ApiKeyRead.model_validate(row)
