"""Per-tenant rate limits and quotas, computed from the tables themselves.

Counting the tenant's own rows in a sliding window needs no extra state and holds across any
number of API replicas (they share the database).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import QuotaExceeded, RateLimited
from app.core.models import Artifact, Dataset, Job, Model, utcnow
from app.core.settings import Settings
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


def check_job_creation(session: Session, tenant_id: str, settings: Settings) -> None:
    since = utcnow() - WINDOW
    recent = list(
        session.scalars(
            select(Job.created_at)
            .where(Job.tenant_id == tenant_id, Job.created_at > since)
            .order_by(Job.created_at.desc())
            .limit(settings.tenant_jobs_per_minute)
        )
    )
    _window_check(recent, settings.tenant_jobs_per_minute, "job creations")
    active = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.tenant_id == tenant_id, Job.status.in_([s.value for s in ACTIVE]))
    )
    if active is not None and active >= settings.tenant_max_active_jobs:
        raise RateLimited(
            f"{active} jobs are queued or running; the limit is {settings.tenant_max_active_jobs}. "
            "Wait for some to finish or cancel them.",
            headers={"Retry-After": "30"},
        )


def check_upload_rate(session: Session, tenant_id: str, settings: Settings) -> None:
    since = utcnow() - WINDOW
    limit = settings.tenant_uploads_per_minute
    recent = [
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
