"""/v1/uploads: chunked, resumable uploads of models and datasets (docs/uploads.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import DomainError, InvalidInput
from app.core.models import ChunkedUpload
from app.core.storage.parts import make_part_store
from app.deps import SessionDep, SettingsDep, StoreDep, TenantDep
from app.http import problems
from app.uploads import chunked, service
from app.uploads.chunked import PartConflict, ReceivedPart
from app.uploads.receive import StagedUpload, receive_body
from app.uploads.schemas import (
    ChunkedUploadComplete,
    ChunkedUploadCreate,
    ChunkedUploadRead,
    DatasetRead,
    ModelRead,
    PartRead,
)

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
ERRORS = problems(401, 404, 408, 409, 410, 413, 422, 429, 503, 507)
PART_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
Sha256Header = Annotated[
    str | None,
    Header(alias="Content-SHA256", pattern=r"^[0-9a-fA-F]{64}$", description="The part's SHA-256 (hex), checked."),
]


def _read(session: Session, upload: ChunkedUpload) -> ChunkedUploadRead:
    stored = chunked.stored_parts(session, upload.id)
    have = {p.number for p in stored}
    count = chunked.part_count(upload)
    return ChunkedUploadRead(
        id=upload.id,
        kind=upload.kind,  # type: ignore[arg-type]
        filename=upload.filename,
        name=upload.name,
        size_bytes=upload.size_bytes,
        part_size_bytes=upload.part_size_bytes,
        part_count=count,
        sha256=upload.sha256,
        status=upload.status,  # type: ignore[arg-type]
        parts=[PartRead.model_validate(p) for p in stored],
        missing_parts=[] if upload.status != "open" else [n for n in range(1, count + 1) if n not in have],
        resource_id=upload.resource_id,
        created_at=upload.created_at,
        expires_at=upload.expires_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=ChunkedUploadRead,
    responses=ERRORS,
    operation_id="create_upload",
    summary="Start a chunked upload",
)
def create_upload(
    body: ChunkedUploadCreate, tenant: TenantDep, session: SessionDep, store: StoreDep, settings: SettingsDep
) -> Any:
    """Open an upload of a model or dataset in parts; send them with `PUT /v1/uploads/{id}/parts/{n}`."""
    upload = chunked.create(session, make_part_store(store), settings, tenant.id, body)
    session.commit()
    return _read(session, upload)


@router.get(
    "/{upload_id}",
    response_model=ChunkedUploadRead,
    responses=ERRORS,
    operation_id="get_upload",
    summary="Get a chunked upload and its stored parts",
)
def get_upload(upload_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep) -> Any:
    """The parts stored so far and those missing: a client resumes by sending the missing ones."""
    if chunked.sweep_expired(session, make_part_store(store), tenant.id):  # resuming is where expiry shows
        session.commit()
    return _read(session, chunked.get_owned(session, tenant.id, upload_id))


async def _put_part(
    request: Request,
    session: Session,
    store: Any,
    settings: Any,
    tenant_id: str,
    upload_id: str,
    number: int,
    sha256: str | None,
) -> PartRead:
    _, expected = await run_in_threadpool(chunked.open_for_parts, session, tenant_id, upload_id, number)
    await run_in_threadpool(session.commit)  # no transaction is held while the part's body streams
    path, size, digest = await receive_body(
        request, staging_dir=settings.staging_dir, max_bytes=expected, read_timeout_s=settings.body_read_timeout_s
    )
    try:
        part = await run_in_threadpool(
            chunked.store_part,
            session,
            make_part_store(store),
            settings,
            tenant_id=tenant_id,
            upload_id=upload_id,
            number=number,
            received=ReceivedPart(path, size, digest),
            declared_sha256=sha256,
        )
        await run_in_threadpool(session.commit)
    except IntegrityError:
        await run_in_threadpool(session.rollback)
        raise PartConflict(f"part {number} was stored by another request at the same time") from None
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        path.unlink(missing_ok=True)
    return PartRead.model_validate(part)


@router.put(
    "/{upload_id}/parts/{number}",
    response_model=PartRead,
    responses=ERRORS,
    openapi_extra=PART_BODY,
    operation_id="put_upload_part",
    summary="Send one part",
)
async def put_part(
    request: Request,
    upload_id: str,
    number: Annotated[int, Path(ge=1, le=100_000)],
    tenant: TenantDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    sha256: Sha256Header = None,
    content_range: Annotated[str | None, Header(alias="Content-Range")] = None,
) -> Any:
    """Part `number` (from 1) holds bytes `[(number-1)*part_size, number*part_size)`; any order; a part sent
    again with the same bytes is kept once. `Content-Range`, if sent, must name exactly that range."""
    if content_range is not None:
        ranged = await run_in_threadpool(chunked.number_from_range, session, tenant.id, upload_id, content_range)
        if ranged != number:
            raise PartConflict(f"Content-Range names part {ranged}, the URL part {number}")
    return await _put_part(request, session, store, settings, tenant.id, upload_id, number, sha256)


@router.put(
    "/{upload_id}",
    response_model=PartRead,
    responses=ERRORS,
    openapi_extra=PART_BODY,
    operation_id="put_upload_range",
    summary="Send one part by Content-Range",
)
async def put_range(
    request: Request,
    upload_id: str,
    tenant: TenantDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    content_range: Annotated[str, Header(alias="Content-Range")],
    sha256: Sha256Header = None,
) -> Any:
    """The part whose bytes `Content-Range: bytes a-b/total` names (a range off the part grid is a 409)."""
    number = await run_in_threadpool(chunked.number_from_range, session, tenant.id, upload_id, content_range)
    return await _put_part(request, session, store, settings, tenant.id, upload_id, number, sha256)


@router.post(
    "/{upload_id}/complete",
    status_code=201,
    response_model=ModelRead | DatasetRead,
    responses=ERRORS,
    operation_id="complete_upload",
    summary="Complete a chunked upload into a model or dataset",
)
async def complete_upload(
    upload_id: str,
    body: ChunkedUploadComplete,
    response: Response,
    tenant: TenantDep,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Any:
    """Assemble the parts, check the SHA-256 of the whole, then validate and record it like a direct upload.

    Completing again after success answers 200 with the same model or dataset.
    """
    parts = make_part_store(store)
    upload = await run_in_threadpool(chunked.ready_to_complete, session, tenant.id, upload_id, body.sha256)
    kind = chunked.kind_of(upload)
    if upload.status == "completed":
        assert upload.resource_id is not None
        existing = await run_in_threadpool(service.get_owned, session, kind, tenant.id, upload.resource_id)
        response.status_code = 200
        return kind.read_schema.model_validate(existing)
    tags = [(p.number, p.etag) for p in await run_in_threadpool(chunked.stored_parts, session, upload_id)]
    await run_in_threadpool(session.commit)
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    path = settings.staging_dir / f"upload-{uuid.uuid4().hex}.part"
    staged = StagedUpload(path, upload.filename, upload.size_bytes, "", {"name": upload.name})
    row: Any = None
    try:
        try:
            staged.sha256 = await run_in_threadpool(chunked.assemble, parts, upload, tags, path, body.sha256)
        except InvalidInput:
            if not parts.keeps_parts:
                await run_in_threadpool(_restart, session, parts, upload_id)
            raise
        columns = await service.inspect(kind, staged, settings)
        row = await run_in_threadpool(
            service.record, session, store, settings, kind, tenant_id=tenant.id, staged=staged, columns=columns
        )
        await run_in_threadpool(chunked.mark_completed, session, upload_id, row.id)
        await run_in_threadpool(session.commit)
    except BaseException:
        await run_in_threadpool(session.rollback)
        if row is not None:
            store.delete(row.blob_key)
        raise
    finally:
        staged.discard()
    if parts.keeps_parts:
        await run_in_threadpool(parts.abort, upload.storage_key, upload.storage_token)
    return kind.read_schema.model_validate(row)


def _restart(session: Session, parts: Any, upload_id: str) -> None:
    try:
        chunked.restart_parts(session, parts, upload_id)
        session.commit()
    except DomainError:
        session.rollback()


@router.delete(
    "/{upload_id}", status_code=204, responses=ERRORS, operation_id="delete_upload", summary="Abandon an upload"
)
def delete_upload(upload_id: str, tenant: TenantDep, session: SessionDep, store: StoreDep) -> Response:
    chunked.delete(session, make_part_store(store), tenant.id, upload_id)
    session.commit()
    return Response(status_code=204)
