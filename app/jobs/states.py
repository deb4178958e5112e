"""The job state machine: the only code that changes a job's ``status``.

Transitions are data. Every change is a guarded UPDATE (``WHERE status = :expected``, plus the
attempt number for a running job, which fences off a stale worker) and writes one job_event row
in the same transaction. Zero rows updated means someone else won: the caller gets ``False``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.core.models import Job, JobEvent, WebhookDelivery, utcnow
from app.jobs.snapshots import touch


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.queued: frozenset({JobStatus.running, JobStatus.cancelled, JobStatus.failed}),
    # running -> queued: the reaper hands a silent job back for another attempt.
    JobStatus.running: frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.queued}),
    JobStatus.succeeded: frozenset(),
    JobStatus.failed: frozenset(),
    JobStatus.cancelled: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)
ACTIVE = frozenset({JobStatus.queued, JobStatus.running})


class IllegalTransition(ValueError):
    pass


def can_transition(old: JobStatus, new: JobStatus) -> bool:
    return new in ALLOWED[old]


def next_event_seq(session: Session, job_id: str) -> int:
    """Reserve the job's next event number (row-locking, so concurrent writers never collide)."""
    seq = session.execute(
        update(Job).where(Job.id == job_id).values(event_seq=Job.event_seq + 1).returning(Job.event_seq)
    ).scalar_one()
    return int(seq)


def add_event(session: Session, job_id: str, type_: str, message: str, data: dict[str, Any] | None = None) -> int:
    seq = next_event_seq(session, job_id)
    touch(session, job_id)  # event_seq is in the job's ETag: its snapshot goes stale on commit
    session.execute(
        insert(JobEvent).values(job_id=job_id, seq=seq, at=utcnow(), type=type_, message=message, data=data or {})
    )
    return seq


def transition(
    session: Session,
    job_id: str,
    old: JobStatus,
    new: JobStatus,
    *,
    attempt: int | None = None,
    message: str | None = None,
    data: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Move ``job_id`` from ``old`` to ``new`` if it is still ``old`` (and on ``attempt``, when given).

    Extra keyword values are written in the same UPDATE. Returns False when the guard did not match.
    A target's child job locks its multi-target parent first (every writer takes parent before child, so
    they cannot deadlock), and the parent's state and per-target results follow (``app.jobs.fanout``).
    """
    if not can_transition(old, new):
        raise IllegalTransition(f"{old} -> {new} is not allowed")
    parent_id = session.scalar(select(Job.parent_id).where(Job.id == job_id))
    if parent_id is not None:
        lock_job(session, parent_id)
    now: datetime = utcnow()
    stmt = update(Job).where(Job.id == job_id, Job.status == old.value)
    if attempt is not None:
        stmt = stmt.where(Job.attempts == attempt)
    fields: dict[str, Any] = {"status": new.value, "updated_at": now, **values}
    if new in TERMINAL:
        fields.setdefault("finished_at", now)
    if new is JobStatus.running:
        fields.setdefault("started_at", now)
        fields.setdefault("heartbeat_at", now)
    rows = session.execute(
        stmt.values(**fields).returning(Job.webhook_url).execution_options(synchronize_session=False)
    ).all()
    if len(rows) != 1:
        return False
    touch(session, job_id)  # the job's cached snapshot is replaced once this transaction commits
    add_event(
        session,
        job_id,
        "state",
        message or f"{old.value} -> {new.value}",
        {"from": old.value, "to": new.value, **(data or {})},
    )
    if parent_id is not None:
        from app.jobs.fanout import refresh_parent  # fanout moves the parent through this module

        refresh_parent(session, parent_id)
    webhook_url = rows[0][0]
    if new in TERMINAL and webhook_url:
        # Outbox: the delivery exists if and only if the terminal state was committed.
        session.execute(
            insert(WebhookDelivery).values(
                job_id=job_id,
                url=webhook_url,
                event=f"job.{new.value}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return True


def lock_job(session: Session, job_id: str) -> None:
    """Hold the job's row until the transaction ends (Postgres; SQLite writers are serialized anyway).

    FOR NO KEY UPDATE: child rows referencing the job (events, artifacts, target jobs) may still be inserted.
    """
    session.execute(select(Job.id).where(Job.id == job_id).with_for_update(key_share=True))
