"""The one way a job reaches the broker, used by the create route and by the reaper.

Call it after the transaction that queued the job has committed: a message must never name a job
the worker cannot see yet. ``enqueued_at`` records that the broker has the message; a job left
without it (broker down, process killed in between) is re-sent by the reaper after a grace period.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.db import session_scope
from app.core.models import Job, utcnow
from app.core.settings import Settings
from app.jobs.routing import enqueue_job
from app.jobs.states import JobStatus, add_event

log = logging.getLogger("slimline.jobs.dispatch")
BROKER_DOWN = "the broker is unreachable; the job will be sent when it is back"


def dispatch(settings: Settings, job_id: str, queue: str, *, record_outage: bool) -> bool:
    """Send a committed, queued job to the broker and mark it enqueued.

    Returns False when the broker refused: the job stays queued and unmarked, and the reaper
    re-sends it. With ``record_outage`` the outage is also recorded as a warning event on the job (the
    route does, once; the reaper's retries stay in the log).
    """
    try:
        enqueue_job(settings, job_id, queue)
    except Exception as exc:  # noqa: BLE001 - any transport error: the job stays queued, the reaper retries
        log.warning("could not enqueue job", extra={"job_id": job_id, "queue": queue, "error": str(exc)})
        if record_outage:
            with session_scope(settings.database_url) as session:
                add_event(session, job_id, "warning", BROKER_DOWN)
        return False
    with session_scope(settings.database_url) as session:
        mark_enqueued(session, job_id)
    return True


def mark_enqueued(session: Session, job_id: str) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()))


def forget_broker_messages(session: Session) -> int:
    """The broker lost its messages (e.g. Redis restarted without persistence): every queued job
    needs a new message. Marks them unsent so the reaper re-sends them; duplicates are no-ops."""
    result = session.execute(
        update(Job).where(Job.status == JobStatus.queued.value, Job.enqueued_at.is_not(None)).values(enqueued_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
