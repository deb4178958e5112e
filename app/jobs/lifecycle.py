"""What a worker does to a job row: claim, beat, report progress, finish. All guarded by attempt.

The attempt number taken at claim time fences a stale worker: once the reaper has handed the job
to another attempt, every write of the old one matches zero rows and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.core.models import Artifact, Dataset, Job, Model, utcnow
from app.jobs.routing import FANOUT
from app.jobs.snapshots import touch
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


def claim(session: Session, job_id: str, worker: str, hardware_class: str | None = None) -> ClaimedJob | None:
    """queued -> running for this worker; None when the job is not queued (done, cancelled, taken), or is for
    another hardware class than ``hardware_class`` (a message on the wrong queue: a job never runs elsewhere)."""
    row = session.execute(select(Job.hardware_class, Job.queue).where(Job.id == job_id)).one_or_none()
    if row is None or row.queue == FANOUT or (row.hardware_class is not None and row.hardware_class != hardware_class):
        return None
    if not transition(
        session,
        job_id,
        JobStatus.queued,
        JobStatus.running,
        attempts=Job.attempts + 1,
        worker=worker,
        stage="starting",
        progress=0.0,
        status_reason=None,
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
    touch(session, job_id)  # stage and progress are in the job's document: its snapshot goes stale on commit
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
