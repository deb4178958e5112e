"""Routers for the two uploaded resources, models and datasets: the same five routes per ``UploadKind``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.errors import DomainError, PayloadTooLarge, UnsupportedMediaType
from app.core.pagination import MAX_LIMIT
from app.core.schemas.common import Page
from app.core.settings import Settings
from app.deps import SessionDep, SettingsDep, StoreDep, TenantDep
from app.http import BLOB_RESPONSES, RedirectQuery, blob_download, problems
from app.tenants.limits import upload_lease_s
from app.uploads import chunked_endpoints, service
from app.uploads.kinds import DATASETS, MODELS, UploadKind
from app.uploads.receive import receive_upload

log = logging.getLogger("slimline.api")
ERRORS = problems(401, 403, 404, 408, 409, 413, 415, 422, 429, 503, 507)
CONTENT_MEDIA_TYPE = "application/octet-stream"


def _upload_body(description: str, data_field: str | None = None, data_help: str = "") -> dict[str, Any]:
    data = (
        {data_field: {"type": "array", "items": {"type": "string", "format": "binary"}, "description": data_help}}
        if data_field
        else {}
    )
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary", "description": description},
                            **data,
                            "name": {
                                "type": "string",
                                "maxLength": 255,
                                "description": "Display name; default: the file name.",
                            },
                        },
                    }
                }
            },
        }
    }


def _slot_keeper(session: Session, slot_id: int, settings: Settings) -> Callable[[], Awaitable[None]]:
    """Renew the upload's slot every third of its lease while chunks arrive (one short transaction each).

    The request's session is idle while the body streams, so the renewal borrows it and commits.
    """
    every_s = upload_lease_s(settings) / 3
    due = time.monotonic() + every_s

    async def renew() -> None:
        nonlocal due
        if time.monotonic() >= due:
            due = time.monotonic() + every_s
            await run_in_threadpool(_in_transaction, session, service.renew_slot, slot_id, settings)

    return renew


def _in_transaction(session: Session, work: Callable[..., None], *args: Any) -> None:
    try:
        work(session, *args)
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _give_back(session: Session, slot_id: int) -> None:
    """Release a failed upload's slot; if the database is unreachable the lease lapses on its own."""
    try:
        _in_transaction(session, service.release_slot, slot_id)
    except SQLAlchemyError as exc:
        log.warning("could not release upload slot %s: %s", slot_id, exc)


def make_router(kind: UploadKind[Any]) -> APIRouter:
    """The five routes of an uploaded resource: upload, list, get, download, delete."""
    name, plural, read_schema = kind.name, kind.plural, kind.read_schema
    router = APIRouter(prefix=f"/v1/{plural}", tags=[plural])

    @router.post(
        "",
        status_code=201,
        response_model=read_schema,
        responses=ERRORS,
        openapi_extra=_upload_body(kind.file_help, kind.data_field, kind.data_help),
        operation_id=f"upload_{name}",
        summary=f"Upload a {name}",
    )
    async def upload(
        request: Request, tenant: TenantDep, session: SessionDep, store: StoreDep, settings: SettingsDep
    ) -> Any:
        # Admission commits at once: no database connection is held while the body streams.
        try:
            slot_id = await run_in_threadpool(service.admit_upload, session, tenant.id, settings)
        except DomainError as exc:
            exc.headers.setdefault("Connection", "close")  # else the socket waits for a body nobody reads
            raise
        await run_in_threadpool(session.commit)
        row: Any = None
        staged = None
        try:
            staged = await receive_upload(
                request,
                staging_dir=settings.staging_dir,
                max_bytes=settings.max_upload_bytes,
                data_field=kind.data_field,
                read_timeout_s=settings.body_read_timeout_s,
                on_chunk=_slot_keeper(session, slot_id, settings),
            )
            columns = await service.inspect(kind, staged, settings)
            row = await run_in_threadpool(
                service.record,
                session,
                store,
                settings,
                kind,
                tenant_id=tenant.id,
                staged=staged,
                columns=columns,
                slot_id=slot_id,
            )
            await run_in_threadpool(session.commit)
        except BaseException as exc:
            if staged is None and isinstance(exc, PayloadTooLarge | UnsupportedMediaType):  # body left unread
                exc.headers.setdefault("Connection", "close")
            await run_in_threadpool(session.rollback)
            if row is not None:
                store.delete(row.blob_key)
            await run_in_threadpool(_give_back, session, slot_id)
            raise
        finally:
            if staged is not None:
                staged.discard()
        return read_schema.model_validate(row)

    @router.get(
        "",
        response_model=Page[read_schema],  # type: ignore[valid-type]
        responses=ERRORS,
        operation_id=f"list_{plural}",
        summary=f"List {plural}",
    )
    def list_(
        tenant: TenantDep,
        session: SessionDep,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> Any:
        rows, next_cursor = service.list_owned(session, kind, tenant.id, cursor=cursor, limit=limit)
        return {"items": [read_schema.model_validate(r) for r in rows], "next_cursor": next_cursor}

    @router.get(
        "/{item_id}", response_model=read_schema, responses=ERRORS, operation_id=f"get_{name}", summary=f"Get a {name}"
    )
    def get(item_id: str, tenant: TenantDep, session: SessionDep) -> Any:
        return read_schema.model_validate(service.get_owned(session, kind, tenant.id, item_id))

    @router.get(
        "/{item_id}/content",
        responses={**BLOB_RESPONSES, **ERRORS},
        response_class=StreamingResponse,
        operation_id=f"download_{name}",
        summary=f"Download a {name}",
    )
    def download(
        item_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep, redirect: RedirectQuery = False
    ) -> Response:
        row = service.get_owned(session, kind, tenant.id, item_id)
        return blob_download(
            store,
            row.blob_key,
            filename=kind.download_name(row),
            media_type=CONTENT_MEDIA_TYPE,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            redirect=redirect,
        )

    @router.delete(
        "/{item_id}", status_code=204, responses=ERRORS, operation_id=f"delete_{name}", summary=f"Delete a {name}"
    )
    def delete(item_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep) -> Response:
        blob_key = service.delete_owned(session, kind, tenant.id, item_id)
        session.commit()
        store.delete(blob_key)
        return Response(status_code=204)

    return router


models_router = make_router(MODELS)
datasets_router = make_router(DATASETS)
chunked_router = chunked_endpoints.router  # /v1/uploads: chunked, resumable uploads
