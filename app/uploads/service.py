"""Models and datasets: validate a staged upload, store the blob, record the row."""

from __future__ import annotations

from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InUse, NotFound
from app.core.ids import could_exist, new_id
from app.core.models import Dataset, Job, Model, utcnow
from app.core.settings import Settings
from app.core.storage import BlobStore, dataset_key, model_key
from app.jobs.states import ACTIVE
from app.tenants.limits import check_storage_quota
from app.uploads.receive import StagedUpload
from app.uploads.validation.isolated import inspect_dataset, inspect_model

Row = TypeVar("Row", Model, Dataset)
MAX_NAME = 255


def _name(staged: StagedUpload) -> str:
    return (staged.fields.get("name") or staged.filename or "upload").strip()[:MAX_NAME] or "upload"


def _store_and_add(session: Session, store: BlobStore, staged: StagedUpload, row: Row, key: str) -> Row:
    # The blob goes first, outside any write transaction (a sealed store may write the tenant's
    # data key in its own transaction; SQLite allows one writer). A failed flush removes the blob;
    # the edge commits.
    store.put_file(key, staged.path)
    session.add(row)
    try:
        session.flush()
    except BaseException:
        store.delete(key)
        raise
    return row


def create_model(
    session: Session, store: BlobStore, settings: Settings, *, tenant_id: str, staged: StagedUpload
) -> Model:
    """Validate an uploaded model (ONNX or torch.export .pt2) and store it."""
    check_storage_quota(session, tenant_id, settings, staged.size_bytes)
    info = inspect_model(staged.path, filename=staged.filename)
    model_id = new_id("model")
    key = model_key(tenant_id, model_id)
    row = Model(
        id=model_id,
        tenant_id=tenant_id,
        name=_name(staged),
        format=info.format,
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        opset=info.opset,
        inputs=[t.model_dump() for t in info.inputs],
        outputs=[t.model_dump() for t in info.outputs],
        parameter_count=info.parameter_count,
        warnings=list(info.warnings),
        blob_key=key,
    )
    return _store_and_add(session, store, staged, row, key)


def create_dataset(
    session: Session, store: BlobStore, settings: Settings, *, tenant_id: str, staged: StagedUpload
) -> Dataset:
    """Validate an uploaded ``.npz`` dataset (no pickles, zip-bomb safe) and store it."""
    check_storage_quota(session, tenant_id, settings, staged.size_bytes)
    info = inspect_dataset(staged.path, max_uncompressed_bytes=settings.max_dataset_uncompressed_bytes)
    dataset_id = new_id("dataset")
    key = dataset_key(tenant_id, dataset_id)
    row = Dataset(
        id=dataset_id,
        tenant_id=tenant_id,
        name=_name(staged),
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        arrays=[t.model_dump() for t in info.arrays],
        num_samples=info.num_samples,
        has_labels=info.has_labels,
        warnings=list(info.warnings),
        blob_key=key,
    )
    return _store_and_add(session, store, staged, row, key)


def get_owned(
    session: Session, entity: type[Row], tenant_id: str, row_id: str, *, lock: Literal["share", "update"] | None = None
) -> Row:
    """The tenant's row, or NotFound (another tenant's id is indistinguishable from a missing one)."""
    if not could_exist(row_id):
        raise NotFound(f"{'model' if entity is Model else 'dataset'} {row_id!r} not found")
    stmt = select(entity).where(entity.id == row_id, entity.tenant_id == tenant_id, entity.deleted_at.is_(None))
    # Job creation takes FOR SHARE (creators never block each other), delete takes FOR UPDATE:
    # a delete waits for creations in flight and a creation never references a deleted row.
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    row = session.scalar(stmt)
    if row is None:
        kind = "model" if entity is Model else "dataset"
        raise NotFound(f"{kind} {row_id!r} not found")
    return row


def delete_owned(session: Session, entity: type[Row], tenant_id: str, row_id: str) -> str:
    """Delete a model or dataset; refused while a queued or running job uses it.

    Returns the blob key, which the caller removes once the transaction has committed.
    """
    row = get_owned(session, entity, tenant_id, row_id, lock="update")
    column = Job.model_id if entity is Model else Job.dataset_id
    busy = session.scalar(select(Job.id).where(column == row_id, Job.status.in_([s.value for s in ACTIVE])).limit(1))
    if busy is not None:
        raise InUse(f"{row_id} is used by active job {busy}; cancel it or wait for it to finish")
    # Finished jobs keep pointing at the row (their results stay readable), so the row is
    # soft-deleted: it disappears from the API and its blob is removed.
    row.deleted_at = utcnow()
    session.flush()
    return row.blob_key
