"""Routers for the two uploaded resources, models and datasets (same verbs, different validation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import select

from app.core.models import Dataset, Model
from app.core.pagination import MAX_LIMIT, paginate
from app.core.schemas.common import Page
from app.core.storage import stream_blob
from app.deps import SessionDep, SettingsDep, StoreDep, TenantDep
from app.tenants.limits import check_upload_rate
from app.uploads import service
from app.uploads.receive import receive_upload
from app.uploads.schemas import DatasetRead, ModelRead

RedirectQuery = Annotated[bool, Query(description="With S3 storage: answer 307 to a short-lived presigned URL.")]
PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


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


def _media_type(entity: Any, row: Any) -> tuple[str, str]:
    if entity is Dataset:
        return "application/octet-stream", f"{row.id}.npz"
    return "application/octet-stream", f"{row.id}.{'pt2' if row.format == 'torch_export' else 'onnx'}"


def make_router(entity: Any, read_schema: Any) -> APIRouter:
    """The five routes of an uploaded resource; ``entity`` is Model or Dataset, ``read_schema`` its schema."""
    kind = "model" if entity is Model else "dataset"
    plural = kind + "s"
    router = APIRouter(prefix=f"/v1/{plural}", tags=[plural])
    errors: dict[int | str, dict[str, Any]] = {
        status: PROBLEM for status in (401, 403, 404, 409, 413, 415, 422, 429, 503, 507)
    }
    file_help = (
        "An ONNX model (.onnx) or a torch.export archive (.pt2)."
        if entity is Model
        else "An .npz with one array per model input (keyed by input name) and optional `labels`."
    )

    @router.post(
        "",
        status_code=201,
        response_model=read_schema,
        responses=errors,
        openapi_extra=_upload_body(file_help),
        operation_id=f"upload_{kind}",
        summary=f"Upload a {kind}",
    )
    async def upload(
        request: Request, tenant: TenantDep, session: SessionDep, store: StoreDep, settings: SettingsDep
    ) -> Any:
        await run_in_threadpool(check_upload_rate, session, tenant.id, settings)
        staged = await receive_upload(request, staging_dir=settings.staging_dir, max_bytes=settings.max_upload_bytes)
        row: Any = None
        try:
            if entity is Model:
                row = await run_in_threadpool(
                    service.create_model, session, store, settings, tenant_id=tenant.id, staged=staged
                )
            else:
                row = await run_in_threadpool(
                    service.create_dataset, session, store, settings, tenant_id=tenant.id, staged=staged
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
        responses=errors,
        operation_id=f"list_{plural}",
        summary=f"List {plural}",
    )
    def list_(
        tenant: TenantDep,
        session: SessionDep,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> Any:
        stmt = select(entity).where(entity.tenant_id == tenant.id, entity.deleted_at.is_(None))
        rows, next_cursor = paginate(session, stmt, entity, cursor=cursor, limit=limit)
        return {"items": [read_schema.model_validate(r) for r in rows], "next_cursor": next_cursor}

    @router.get(
        "/{item_id}", response_model=read_schema, responses=errors, operation_id=f"get_{kind}", summary=f"Get a {kind}"
    )
    def get(item_id: str, tenant: TenantDep, session: SessionDep) -> Any:
        return read_schema.model_validate(service.get_owned(session, entity, tenant.id, item_id))

    @router.get(
        "/{item_id}/content",
        responses={
            200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            307: {"description": "Redirect to a presigned URL (`redirect=true` on S3 storage)"},
            **errors,
        },
        response_class=StreamingResponse,
        operation_id=f"download_{kind}",
        summary=f"Download a {kind}",
    )
    def download(
        item_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep, redirect: RedirectQuery = False
    ) -> Response:
        row = service.get_owned(session, entity, tenant.id, item_id)
        media_type, filename = _media_type(entity, row)
        if redirect and (url := store.presigned_url(row.blob_key, filename=filename)):
            return RedirectResponse(url, status_code=307)
        return StreamingResponse(
            stream_blob(store, row.blob_key),
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Content-Length": str(row.size_bytes),
                "ETag": f'"{row.sha256}"',
            },
        )

    @router.delete(
        "/{item_id}", status_code=204, responses=errors, operation_id=f"delete_{kind}", summary=f"Delete a {kind}"
    )
    def delete(item_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep) -> Response:
        blob_key = service.delete_owned(session, entity, tenant.id, item_id)
        session.commit()
        store.delete(blob_key)
        return Response(status_code=204)

    return router


models_router = make_router(Model, ModelRead)
datasets_router = make_router(Dataset, DatasetRead)
