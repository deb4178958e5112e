"""Routers for the two uploaded resources, models and datasets: the same five routes per ``UploadKind``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.core.pagination import MAX_LIMIT
from app.core.schemas.common import Page
from app.deps import SessionDep, SettingsDep, StoreDep, TenantDep
from app.http import BLOB_RESPONSES, RedirectQuery, blob_download, problems
from app.uploads import service
from app.uploads.kinds import DATASETS, MODELS, UploadKind
from app.uploads.receive import receive_upload

ERRORS = problems(401, 403, 404, 409, 413, 415, 422, 429, 503, 507)
CONTENT_MEDIA_TYPE = "application/octet-stream"


def _upload_body(description: str) -> dict[str, Any]:
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


def make_router(kind: UploadKind[Any]) -> APIRouter:
    """The five routes of an uploaded resource: upload, list, get, download, delete."""
    name, plural, read_schema = kind.name, kind.plural, kind.read_schema
    router = APIRouter(prefix=f"/v1/{plural}", tags=[plural])

    @router.post(
        "",
        status_code=201,
        response_model=read_schema,
        responses=ERRORS,
        openapi_extra=_upload_body(kind.file_help),
        operation_id=f"upload_{name}",
        summary=f"Upload a {name}",
    )
    async def upload(
        request: Request, tenant: TenantDep, session: SessionDep, store: StoreDep, settings: SettingsDep
    ) -> Any:
        await run_in_threadpool(service.admit_upload, session, tenant.id, settings)
        staged = await receive_upload(request, staging_dir=settings.staging_dir, max_bytes=settings.max_upload_bytes)
        row: Any = None
        try:
            row = await run_in_threadpool(
                service.create, session, store, settings, kind, tenant_id=tenant.id, staged=staged
            )
            await run_in_threadpool(session.commit)
        except BaseException:
            await run_in_threadpool(session.rollback)
            if row is not None:
                store.delete(row.blob_key)
            raise
        finally:
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
