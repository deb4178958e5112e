"""The reaper's pass: take back jobs whose worker went silent, re-send jobs the broker never got, and drop
the parts of chunked uploads that expired unfinished.

The worker process runs ``reap_once`` on a timer (``worker/celery_app.py``); any number of reapers
may run at once, since every change is a guarded transition and a duplicate message is a no-op.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.models import Job, utcnow
from app.core.settings import Settings
from app.fleet import registry
from app.jobs.dispatch import dispatch, forget_broker_messages
from app.jobs.fanout import refresh_parent
from app.jobs.routing import FANOUT
from app.jobs.service import WAITING_FOR_HARDWARE, describe_wait, waiting_reason
from app.jobs.snapshots import touch
from app.jobs.states import JobStatus, add_event, lock_job, transition

log = logging.getLogger("slimline.jobs.reaper")
BROKER_EPOCH_KEY = "slimline:broker-epoch"


def reap(
    session: Session,
    *,
    stale_after_s: float,
    max_attempts: int,
    enqueue_grace_s: float,
    lost_workers: list[str] | None = None,
) -> list[tuple[str, str]]:
    """Take back silent running jobs (and those of ``lost_workers``) and find queued jobs never handed to the broker.

    Returns (job_id, queue) pairs to send to the broker after the caller commits.
    """
    now = utcnow()
    to_send: list[tuple[str, str]] = []
    silent = Job.heartbeat_at < now - timedelta(seconds=stale_after_s)
    stale = session.execute(
        select(Job.id, Job.attempts, Job.queue, Job.worker)
        .where(
            Job.status == JobStatus.running.value,
            Job.queue != FANOUT,  # a multi-target job never beats: its targets do
            or_(silent, Job.worker.in_(lost_workers or [])),
        )
        .limit(100)
    ).all()
    for job_id, attempts, queue, worker in stale:
        if worker in (lost_workers or []):
            silence = f"no heartbeat from its worker {worker} (worker lost)"
        else:
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
            Job.queue != FANOUT,  # a multi-target job is never sent; its targets are
            Job.updated_at < now - timedelta(seconds=enqueue_grace_s),
        )
        .limit(100)
    ).all()
    to_send.extend((job_id, queue) for job_id, queue in unsent if (job_id, queue) not in to_send)
    return to_send


def update_waiting(session: Session, lost_after_s: float) -> int:
    """Queued jobs say whether a live worker can take them (``status_reason``), as workers come and go.

    Each change is an event: "waiting for hardware: ..." when the last worker went, and one when it is back.
    Returns the number of jobs changed.
    """
    live = registry.live_queues(session, lost_after_s)
    queued = session.execute(
        select(Job.id, Job.queue, Job.status_reason, Job.parent_id)
        .where(Job.status == JobStatus.queued.value, Job.queue != FANOUT)
        .limit(1000)
    ).all()
    changed = 0
    for job_id, queue, old_reason, parent_id in queued:
        reason = waiting_reason(live, queue)
        if reason == old_reason:
            continue
        if parent_id is not None:
            lock_job(session, parent_id)  # parent before child, as every writer does
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued.value)
            .values(status_reason=reason, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            continue
        touch(session, job_id)
        if reason == WAITING_FOR_HARDWARE:
            add_event(
                session, job_id, "warning", f"waiting for hardware: {describe_wait(queue)}", {"status_reason": reason}
            )
        else:
            add_event(session, job_id, "log", "a worker that can run this job is live again", {"status_reason": None})
        if parent_id is not None:
            refresh_parent(session, parent_id)
        changed += 1
    return changed


def reconcile_broker(settings: Settings) -> int:
    """Detect a Redis broker that lost its data and mark queued jobs for re-sending.

    We keep a marker key in Redis; when it is missing, Redis restarted empty (or was flushed), so
    the messages of queued jobs are gone too. Returns the number of jobs marked.
    """
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return 0  # the SQLite broker keeps its messages on disk; AMQP queues are durable
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=3, socket_connect_timeout=3)
    if client.set(BROKER_EPOCH_KEY, str(uuid.uuid4()), nx=True) is None:
        return 0  # the marker survived: nothing was lost
    with session_scope(settings.database_url) as session:
        count = forget_broker_messages(session)
    if count:
        log.warning("broker lost its messages; re-sending queued jobs", extra={"jobs": count})
    return count


def sweep_uploads(settings: Settings) -> int:
    """Drop the parts of every tenant's chunked uploads past their expiry (app.uploads.chunked); an upload
    nobody comes back to is cleaned here, not only when its tenant next touches an upload."""
    from app.core.storage import make_store
    from app.core.storage.parts import make_part_store
    from app.uploads.chunked import sweep_expired

    try:
        with session_scope(settings.database_url) as session:
            swept = sweep_expired(session, make_part_store(make_store(settings)))
    except Exception as exc:  # noqa: BLE001 - storage down: the next pass retries; reaping jobs must go on
        log.warning("expired uploads not swept", extra={"error": str(exc)})
        return 0
    if swept:
        log.info("expired chunked uploads dropped", extra={"uploads": swept})
    return swept


def reap_once(settings: Settings) -> int:
    """One reaper pass: requeue or fail silent jobs, send queued jobs the broker never got.

    Returns the number of jobs it tried to send.
    """
    try:
        reconcile_broker(settings)
    except Exception as exc:  # noqa: BLE001 - broker down: reaping stale jobs must go on
        log.warning("broker reconciliation skipped", extra={"error": str(exc)})
    with session_scope(settings.database_url) as session:
        lost = registry.mark_lost(session, settings.worker_lost_after_s)
    if lost:
        log.warning("workers lost (no heartbeat); redelivering their jobs", extra={"workers": lost})
    with session_scope(settings.database_url) as session:
        to_send = reap(
            session,
            stale_after_s=settings.job_stale_after_s,
            max_attempts=settings.job_max_attempts,
            enqueue_grace_s=settings.enqueue_grace_s,
            lost_workers=lost,
        )
    with session_scope(settings.database_url) as session:
        update_waiting(session, settings.worker_lost_after_s)
    sweep_uploads(settings)
    for job_id, queue in to_send:
        # An outage is only logged here (each pass would add the same warning event); the next pass retries.
        if dispatch(settings, job_id, queue, record_outage=False):
            log.info("reaper enqueued job", extra={"job_id": job_id, "queue": queue})
    return len(to_send)
