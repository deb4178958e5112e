"""Per-tenant rate limits and quotas, computed from the tables themselves.

Counting the tenant's own rows in a sliding window needs no extra state and holds across any
number of API replicas (they share the database). A count and the insert it admits happen in one
transaction that first locks the tenant (``lock_tenant``), so concurrent requests cannot all pass
the same count. Uploads in flight hold a lease row (``UploadSlot``) from admission to record.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.core.errors import QuotaExceeded, RateLimited, TooManyUploads
from app.core.models import Artifact, Dataset, Job, Model, Tenant, UploadSlot, utcnow
from app.core.settings import Settings
from app.jobs.routing import FANOUT
from app.jobs.states import ACTIVE

WINDOW = timedelta(minutes=1)


def _window_check(created: list[datetime], limit: int, what: str) -> None:
    if len(created) < limit:
        return
    oldest = min(created)
    retry_after = max(1, math.ceil((oldest + WINDOW - utcnow()).total_seconds()))
    raise RateLimited(
        f"rate limit: at most {limit} {what} per minute; retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def lock_tenant(session: Session, tenant_id: str) -> None:
    """Serialize the tenant's quota decisions: held until the caller's transaction ends.

    Postgres locks the tenant's row. SQLite has no row locks: a no-op UPDATE as the transaction's
    first statement takes the database's write lock at once (what BEGIN IMMEDIATE does), so no other
    writer can count and insert in between; the driver opens the transaction at that UPDATE.
    """
    if session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE: serializes the lockers, but not the inserts elsewhere whose foreign key checks
        # take FOR KEY SHARE on the tenant (a plain FOR UPDATE blocks them, and can deadlock with them).
        session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update(key_share=True))
    else:
        no_op = update(Tenant).where(Tenant.id == tenant_id).values(name=Tenant.name)
        session.execute(no_op.execution_options(synchronize_session=False))


def check_job_creation(session: Session, tenant_id: str, settings: Settings, *, runs: int = 1) -> None:
    """Refuse a job creation over the tenant's rate or active-jobs limit (429); locks the tenant first.

    The rate counts submissions (a multi-target job once); the active limit counts runs (each target's child
    job, never the multi-target parent), and a job of ``runs`` targets needs room for all of them.
    """
    lock_tenant(session, tenant_id)
    since = utcnow() - WINDOW
    recent = list(
        session.scalars(
            select(Job.created_at)
            .where(Job.tenant_id == tenant_id, Job.created_at > since, Job.parent_id.is_(None))
            .order_by(Job.created_at.desc())
            .limit(settings.tenant_jobs_per_minute)
        )
    )
    _window_check(recent, settings.tenant_jobs_per_minute, "job creations")
    active = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.tenant_id == tenant_id, Job.status.in_([s.value for s in ACTIVE]), Job.queue != FANOUT)
    )
    if active is not None and active + runs > settings.tenant_max_active_jobs:
        raise RateLimited(
            f"{active} jobs are queued or running; the limit is {settings.tenant_max_active_jobs}. "
            "Wait for some to finish or cancel them.",
            headers={"Retry-After": "30"},
        )


def upload_lease_s(settings: Settings) -> float:
    """Seconds an upload's slot lives past its last renewal; a crashed request frees its slot after this."""
    return max(60.0, 3 * settings.body_read_timeout_s)


def acquire_upload_slot(session: Session, tenant_id: str, settings: Settings) -> int:
    """Admit an upload before its body is read, or raise 429; returns the slot's id (release it when done).

    Under the tenant lock: lapsed slots are dropped, then the uploads in flight are held to
    ``tenant_max_concurrent_uploads`` and those in flight plus those recorded in the last minute
    to ``tenant_uploads_per_minute``.
    """
    lock_tenant(session, tenant_id)
    now = utcnow()
    session.execute(delete(UploadSlot).where(UploadSlot.tenant_id == tenant_id, UploadSlot.expires_at < now))
    in_flight = list(session.scalars(select(UploadSlot.created_at).where(UploadSlot.tenant_id == tenant_id)))
    limit = settings.tenant_max_concurrent_uploads
    if len(in_flight) >= limit:
        raise TooManyUploads(
            f"{len(in_flight)} uploads of this tenant are in progress; the limit is {limit} at once",
            headers={"Retry-After": "5"},
        )
    _check_upload_rate(session, tenant_id, settings, in_flight)
    slot = UploadSlot(tenant_id=tenant_id, created_at=now, expires_at=now + timedelta(seconds=upload_lease_s(settings)))
    session.add(slot)
    session.flush()
    return slot.id


def renew_upload_slot(session: Session, slot_id: int, settings: Settings) -> None:
    """Push the slot's expiry one lease further (the body is still arriving)."""
    expires_at = utcnow() + timedelta(seconds=upload_lease_s(settings))
    session.execute(update(UploadSlot).where(UploadSlot.id == slot_id).values(expires_at=expires_at))


def release_upload_slot(session: Session, slot_id: int) -> None:
    session.execute(delete(UploadSlot).where(UploadSlot.id == slot_id))


def _check_upload_rate(session: Session, tenant_id: str, settings: Settings, in_flight: list[datetime]) -> None:
    since = utcnow() - WINDOW
    limit = settings.tenant_uploads_per_minute
    recent = [
        *(created for created in in_flight if created > since),
        *session.scalars(
            select(Model.created_at).where(Model.tenant_id == tenant_id, Model.created_at > since).limit(limit)
        ),
        *session.scalars(
            select(Dataset.created_at).where(Dataset.tenant_id == tenant_id, Dataset.created_at > since).limit(limit)
        ),
    ]
    _window_check(sorted(recent)[-limit:], limit, "uploads")


def stored_bytes(session: Session, tenant_id: str) -> int:
    models = session.scalar(
        select(func.coalesce(func.sum(Model.size_bytes), 0)).where(
            Model.tenant_id == tenant_id, Model.deleted_at.is_(None)
        )
    )
    datasets = session.scalar(
        select(func.coalesce(func.sum(Dataset.size_bytes), 0)).where(
            Dataset.tenant_id == tenant_id, Dataset.deleted_at.is_(None)
        )
    )
    artifacts = session.scalar(
        select(func.coalesce(func.sum(Artifact.size_bytes), 0)).join(Job).where(Job.tenant_id == tenant_id)
    )
    return int(models or 0) + int(datasets or 0) + int(artifacts or 0)


def check_storage_quota(session: Session, tenant_id: str, settings: Settings, incoming_bytes: int) -> None:
    used = stored_bytes(session, tenant_id)
    if used + incoming_bytes > settings.tenant_max_stored_bytes:
        raise QuotaExceeded(
            f"storage quota: {used} bytes stored + {incoming_bytes} new would exceed "
            f"{settings.tenant_max_stored_bytes} bytes; delete models or datasets you no longer need"
        )
