"""What a worker does to a job row: claim, beat, report progress, finish. All guarded by attempt.

The attempt number taken at claim time fences a stale worker: once the reaper has handed the job
to another attempt, every write of the old one matches zero rows and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.core.models import Artifact, Dataset, Job, Model, utcnow
from app.jobs.states import JobStatus, add_event, transition


@dataclass(frozen=True)
class ClaimedJob:
    job_id: str
    tenant_id: str
    attempt: int
    recipe: dict[str, Any]
    queue: str
    model_blob_key: str
    model_format: str
    dataset_blob_key: str


def claim(session: Session, job_id: str, worker: str) -> ClaimedJob | None:
    """queued -> running for this worker; None when the job is not queued (done, cancelled, taken)."""
    if not transition(
        session,
        job_id,
        JobStatus.queued,
        JobStatus.running,
        attempts=Job.attempts + 1,
        worker=worker,
        stage="starting",
        progress=0.0,
        message=f"running on {worker}",
        data={"worker": worker},
    ):
        return None
    job = session.execute(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).scalar_one()
    model = session.get(Model, job.model_id)
    dataset = session.get(Dataset, job.dataset_id)
    assert model is not None and dataset is not None
    return ClaimedJob(
        job.id, job.tenant_id, job.attempts, job.recipe, job.queue, model.blob_key, model.format, dataset.blob_key
    )


def _ours(job_id: str, attempt: int) -> Any:
    return update(Job).where(Job.id == job_id, Job.status == JobStatus.running.value, Job.attempts == attempt)


def heartbeat(session: Session, job_id: str, attempt: int) -> bool:
    """Beat; False when the job is no longer this attempt's (cancelled, reaped, finished)."""
    result = session.execute(_ours(job_id, attempt).values(heartbeat_at=utcnow()))
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def still_ours(session: Session, job_id: str, attempt: int) -> bool:
    row = session.execute(select(Job.status, Job.attempts).where(Job.id == job_id)).one_or_none()
    return row is not None and row[0] == JobStatus.running.value and row[1] == attempt


def record_progress(
    session: Session,
    job_id: str,
    attempt: int,
    *,
    stage: str | None,
    progress: float | None,
    event_type: str | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> bool:
    values: dict[str, Any] = {"updated_at": utcnow(), "heartbeat_at": utcnow()}
    if stage is not None:
        values["stage"] = stage[:64]
    if progress is not None:
        values["progress"] = min(max(float(progress), 0.0), 1.0)
    if session.execute(_ours(job_id, attempt).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
        return False
    if event_type is not None:
        add_event(session, job_id, event_type, message, data)
    return True


def succeed(
    session: Session, job_id: str, attempt: int, *, result: dict[str, Any], artifacts: list[dict[str, Any]]
) -> bool:
    """Record artifacts and the result and move to succeeded, atomically; False if no longer ours."""
    if not still_ours(session, job_id, attempt):
        return False
    for artifact in artifacts:
        session.execute(insert(Artifact).values(job_id=job_id, created_at=utcnow(), **artifact))
    return transition(
        session,
        job_id,
        JobStatus.running,
        JobStatus.succeeded,
        attempt=attempt,
        result=result,
        stage="done",
        progress=1.0,
        message="job succeeded",
    )


def fail(session: Session, job_id: str, attempt: int, *, code: str, message: str) -> bool:
    return transition(
        session,
        job_id,
        JobStatus.running,
        JobStatus.failed,
        attempt=attempt,
        error_code=code,
        error_message=message,
        message=f"job failed: {message}",
        data={"code": code},
    )


def reap(session: Session, *, stale_after_s: float, max_attempts: int, enqueue_grace_s: float) -> list[tuple[str, str]]:
    """Take back silent running jobs and find queued jobs never handed to the broker.

    Returns (job_id, queue) pairs to send to the broker after the caller commits.
    """
    now = utcnow()
    to_send: list[tuple[str, str]] = []
    stale = session.execute(
        select(Job.id, Job.attempts, Job.queue)
        .where(Job.status == JobStatus.running.value, Job.heartbeat_at < now - timedelta(seconds=stale_after_s))
        .limit(100)
    ).all()
    for job_id, attempts, queue in stale:
        silence = f"no heartbeat for {stale_after_s:g} s (worker lost)"
        if attempts >= max_attempts:
            transition(
                session,
                job_id,
                JobStatus.running,
                JobStatus.failed,
                attempt=attempts,
                error_code="worker_lost",
                error_message=f"{silence}; gave up after {attempts} attempts",
                message=f"{silence}; gave up after {attempts} attempts",
            )
        elif transition(
            session,
            job_id,
            JobStatus.running,
            JobStatus.queued,
            attempt=attempts,
            stage=None,
            progress=0.0,
            enqueued_at=None,
            message=f"{silence}; requeued for attempt {attempts + 1}",
        ):
            to_send.append((job_id, queue))
    unsent = session.execute(
        select(Job.id, Job.queue)
        .where(
            Job.status == JobStatus.queued.value,
            Job.enqueued_at.is_(None),
            Job.updated_at < now - timedelta(seconds=enqueue_grace_s),
        )
        .limit(100)
    ).all()
    to_send.extend((job_id, queue) for job_id, queue in unsent if (job_id, queue) not in to_send)
    return to_send


def mark_enqueued(session: Session, job_id: str) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()))


def forget_broker_messages(session: Session) -> int:
    """The broker lost its messages (e.g. Redis restarted without persistence): every queued job
    needs a new message. Marks them unsent so the reaper re-sends them; duplicates are no-ops."""
    result = session.execute(
        update(Job).where(Job.status == JobStatus.queued.value, Job.enqueued_at.is_not(None)).values(enqueued_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
