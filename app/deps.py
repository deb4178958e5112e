"""Annotated dependencies shared by the routers."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.core.db import session_factory
from app.core.models import Tenant
from app.core.settings import Settings
from app.core.storage import BlobStore
from app.tenants.keys import authenticate, bearer_token, cached_tenant


async def get_settings_dep(request: Request) -> Settings:  # async: no I/O, so no thread hop per request
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_store(request: Request) -> BlobStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route (the edge) commits.

    Creating a session does no I/O, so it happens on the event loop; closing one that used a
    connection (a rollback round trip) goes to the thread pool. Routes that never touch the
    session (cached auth, hot-path reads) cost no thread hop here.
    """
    settings = request.app.state.settings
    session = session_factory(settings.database_url, settings.db_pool_timeout_s)()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]


AUTH_LOCK_STRIPES = 64
_auth_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]] = weakref.WeakKeyDictionary()


def _auth_lock(token: str | None) -> asyncio.Lock:
    """One lock per key (striped, so random tokens cannot grow a table), per event loop."""
    loop = asyncio.get_running_loop()
    stripes = _auth_locks.get(loop)
    if stripes is None:
        stripes = _auth_locks[loop] = [asyncio.Lock() for _ in range(AUTH_LOCK_STRIPES)]
    return stripes[hash(token) % AUTH_LOCK_STRIPES]


async def current_tenant(request: Request, session: SessionDep) -> Tenant:
    token = bearer_token(request.headers.get("authorization", ""))
    tenant = cached_tenant(token)
    if tenant is None:
        # When a busy key's cache entry expires, every request in flight with it would re-authenticate at
        # once (a burst of database reads and thread hops); one does, the others find its result cached.
        async with _auth_lock(token):
            tenant = cached_tenant(token)
            if tenant is None:
                cache_s = request.app.state.settings.api_key_cache_s  # revocation bound (docs/security.md)
                tenant = await run_in_threadpool(authenticate, session, token, cache_s=cache_s)
    request.state.tenant_id = tenant.id
    return tenant


TenantDep = Annotated[Tenant, Depends(current_tenant)]
