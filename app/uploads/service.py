"""Models and datasets: validate a staged upload, store the blob, record the row; read, list, delete.

Every function takes the ``UploadKind`` (``MODELS`` or ``DATASETS``) it works on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InUse, NotFound
from app.core.ids import could_exist, new_id
from app.core.models import Job, utcnow
from app.core.pagination import paginate
from app.core.settings import Settings
from app.core.storage import BlobStore
from app.jobs.states import ACTIVE
from app.tenants.limits import (
    acquire_upload_slot,
    check_storage_quota,
    release_upload_slot,
    renew_upload_slot,
)
from app.uploads.kinds import RowT, UploadKind
from app.uploads.receive import StagedUpload
from app.uploads.validation import isolated

MAX_NAME = 255


def _name(staged: StagedUpload) -> str:
    return (staged.fields.get("name") or staged.filename or "upload").strip()[:MAX_NAME] or "upload"


def admit_upload(session: Session, tenant_id: str, settings: Settings) -> int:
    """Admit an upload before its body is read (rate and concurrency limits, 429); returns its slot id.

    The edge commits at once, so no connection is held while the body streams.
    """
    return acquire_upload_slot(session, tenant_id, settings)


def renew_slot(session: Session, slot_id: int, settings: Settings) -> None:
    """Keep an upload's slot while its body still arrives."""
    renew_upload_slot(session, slot_id, settings)


def release_slot(session: Session, slot_id: int) -> None:
    """Give an upload's slot back (the upload failed; ``record`` releases it on success)."""
    release_upload_slot(session, slot_id)


async def inspect(kind: UploadKind[RowT], staged: StagedUpload, settings: Settings) -> dict[str, Any]:
    """Validate an uploaded model (ONNX or torch.export .pt2) or ``.npz`` dataset; the kind's own columns.

    Checks run in child processes, a few at once (``isolated.limits.max_concurrent``); uploads beyond
    that wait here without a thread or a database connection, so a burst cannot starve other requests.
    """
    return await anyio.to_thread.run_sync(kind.inspect, staged, settings, limiter=_inspect_limiter())


@lru_cache(maxsize=1)
def _inspect_limiter() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(isolated.limits.max_concurrent)


def record(
    session: Session,
    store: BlobStore,
    settings: Settings,
    kind: UploadKind[RowT],
    *,
    tenant_id: str,
    staged: StagedUpload,
    columns: dict[str, Any],
    slot_id: int | None = None,
) -> RowT:
    """Store a validated upload's blob and record its row (``columns`` from ``inspect``).

    The blob goes first, outside any write transaction (a sealed store may write the tenant's data
    key in its own transaction; SQLite allows one writer). The row replaces the upload's slot; a
    failed flush removes the blob; the edge commits.
    """
    check_storage_quota(session, tenant_id, settings, staged.size_bytes)
    row_id = new_id(kind.name)
    key = kind.blob_key(tenant_id, row_id) + staged.blob_suffix
    row = kind.orm(
        id=row_id,
        tenant_id=tenant_id,
        name=_name(staged),
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        blob_key=key,
        **columns,
    )
    store.put_file(key, staged.path)
    session.add(row)
    try:
        session.flush()
        if slot_id is not None:
            release_upload_slot(session, slot_id)
    except BaseException:
        store.delete(key)
        raise
    return row


def list_owned(
    session: Session, kind: UploadKind[RowT], tenant_id: str, *, cursor: str | None, limit: int
) -> tuple[list[RowT], str | None]:
    """A page of the tenant's rows, newest first, and the cursor of the next page."""
    stmt = select(kind.orm).where(kind.orm.tenant_id == tenant_id, kind.orm.deleted_at.is_(None))
    return paginate(session, stmt, kind.orm, cursor=cursor, limit=limit)


def get_owned(
    session: Session,
    kind: UploadKind[RowT],
    tenant_id: str,
    row_id: str,
    *,
    lock: Literal["share", "update"] | None = None,
) -> RowT:
    """The tenant's row, or NotFound (another tenant's id is indistinguishable from a missing one)."""
    if not could_exist(row_id):
        raise NotFound(f"{kind.name} {row_id!r} not found")
    entity = kind.orm
    stmt = select(entity).where(entity.id == row_id, entity.tenant_id == tenant_id, entity.deleted_at.is_(None))
    # Job creation takes FOR SHARE (creators never block each other), delete takes FOR UPDATE:
    # a delete waits for creations in flight and a creation never references a deleted row.
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"{kind.name} {row_id!r} not found")
    return row


def delete_owned(session: Session, kind: UploadKind[RowT], tenant_id: str, row_id: str) -> str:
    """Delete a model or dataset; refused while a queued or running job uses it.

    Returns the blob key, which the caller removes once the transaction has committed.
    """
    row = get_owned(session, kind, tenant_id, row_id, lock="update")
    busy = session.scalar(
        select(Job.id).where(kind.job_column == row_id, Job.status.in_([s.value for s in ACTIVE])).limit(1)
    )
    if busy is not None:
        raise InUse(f"{row_id} is used by active job {busy}; cancel it or wait for it to finish")
    # Finished jobs keep pointing at the row (their results stay readable), so the row is
    # soft-deleted: it disappears from the API and its blob is removed.
    row.deleted_at = utcnow()
    session.flush()
    return row.blob_key
