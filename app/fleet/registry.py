"""The worker registry: workers register and beat (``worker/celery_app.py``), the reaper marks the silent ones
lost, the API answers from it which hardware classes exist and which queues a live worker takes.

A worker's id is its Celery node name, the name jobs record in ``jobs.worker``. Rows stay after a worker
stops, so "a class no worker has ever offered" (422 at submit) and "a known class with no live worker" (the
job waits) stay distinguishable. A worker is live while its state is ``online`` and it beat within
``SLIMLINE_WORKER_LOST_AFTER_S``; busy or idle comes from the jobs it runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.models import Job, Worker, utcnow

CLASS_QUEUE_PREFIX = "hw."
ONLINE, STOPPED, LOST = "online", "stopped", "lost"


def class_queue(hardware_class: str) -> str:
    """The queue of one hardware class: only workers of that class consume it."""
    return CLASS_QUEUE_PREFIX + hardware_class


def register(
    session: Session,
    worker_id: str,
    *,
    host: str,
    hardware_class: str,
    queues: list[str],
    concurrency: int,
    description: dict[str, Any],
) -> None:
    """Insert or refresh this worker's row (a restarted worker keeps its id and row)."""
    now = utcnow()
    row = session.get(Worker, worker_id, with_for_update=True)
    if row is None:
        row = Worker(id=worker_id)
        session.add(row)
    row.host, row.hardware_class, row.queues, row.concurrency = host, hardware_class, queues, concurrency
    row.description, row.state, row.started_at, row.heartbeat_at = description, ONLINE, now, now


def beat(session: Session, worker_id: str) -> bool:
    """The worker is alive (a worker marked lost while it was frozen comes back online). False: no row."""
    result = session.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=utcnow(), state=ONLINE))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def stop(session: Session, worker_id: str) -> None:
    """A clean shutdown: the worker is gone, not lost."""
    session.execute(update(Worker).where(Worker.id == worker_id).values(state=STOPPED, heartbeat_at=utcnow()))


def _silent_since(lost_after_s: float) -> datetime:
    return utcnow() - timedelta(seconds=lost_after_s)


def mark_lost(session: Session, lost_after_s: float) -> list[str]:
    """Online workers silent for ``lost_after_s`` become ``lost``; returns their ids (their jobs get redelivered)."""
    ids = list(
        session.scalars(
            select(Worker.id)
            .where(Worker.state == ONLINE, Worker.heartbeat_at < _silent_since(lost_after_s))
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(update(Worker).where(Worker.id.in_(ids)).values(state=LOST))
    return ids


def live_workers(session: Session, lost_after_s: float) -> list[Worker]:
    return list(
        session.scalars(
            select(Worker).where(Worker.state == ONLINE, Worker.heartbeat_at >= _silent_since(lost_after_s))
        )
    )


def all_workers(session: Session) -> list[Worker]:
    return list(session.scalars(select(Worker).order_by(Worker.hardware_class, Worker.id)))


def known_classes(session: Session) -> list[str]:
    """Every class a registered worker has ever offered."""
    return sorted(session.scalars(select(Worker.hardware_class).distinct()))


def live_queues(session: Session, lost_after_s: float) -> set[str]:
    """The queues at least one live worker consumes."""
    return {queue for worker in live_workers(session, lost_after_s) for queue in worker.queues}


@dataclass(frozen=True)
class ClassSummary:
    hardware_class: str
    live_workers: int
    busy_workers: int
    queued_jobs: int
    running_jobs: int


def running_jobs_by_worker(session: Session) -> dict[str, list[str]]:
    rows = session.execute(select(Job.worker, Job.id).where(Job.status == "running", Job.worker.is_not(None)))
    jobs: dict[str, list[str]] = {}
    for worker, job_id in rows:
        jobs.setdefault(str(worker), []).append(job_id)
    return jobs


def class_summaries(session: Session, lost_after_s: float) -> list[ClassSummary]:
    """Per known class: live and busy workers, and the jobs queued for and running on it.

    Jobs without a target class count toward no class (they go to the generic queues, any class takes them).
    """
    live = live_workers(session, lost_after_s)
    running = running_jobs_by_worker(session)
    live_count = Counter(worker.hardware_class for worker in live)
    busy_count = Counter(worker.hardware_class for worker in live if running.get(worker.id))
    counts = session.execute(
        select(Job.hardware_class, Job.status, func.count())
        .where(Job.hardware_class.is_not(None), Job.status.in_(("queued", "running")))
        .group_by(Job.hardware_class, Job.status)
    ).all()
    by_class: dict[tuple[str, str], int] = {(str(cls), status): n for cls, status, n in counts}
    return [
        ClassSummary(
            hardware_class=cls,
            live_workers=live_count[cls],
            busy_workers=busy_count[cls],
            queued_jobs=by_class.get((cls, "queued"), 0),
            running_jobs=by_class.get((cls, "running"), 0),
        )
        for cls in known_classes(session)
    ]


def worker_view(worker: Worker, running: list[str], lost_after_s: float) -> dict[str, Any]:
    """A worker as operators see it: every registered field, and its state now."""
    if worker.state == ONLINE and worker.heartbeat_at < _silent_since(lost_after_s):
        state = LOST
    elif worker.state == ONLINE:
        state = "busy" if running else "idle"
    else:
        state = worker.state
    return {
        "id": worker.id,
        "host": worker.host,
        "hardware_class": worker.hardware_class,
        "queues": worker.queues,
        "concurrency": worker.concurrency,
        "state": state,
        "current_jobs": running,
        "started_at": worker.started_at,
        "heartbeat_at": worker.heartbeat_at,
        **worker.description,
    }
