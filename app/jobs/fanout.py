"""Multi-target jobs: a recipe with ``target.hardware: [a, b, ...]`` becomes a parent job and one child job per
class. Each child is an ordinary job (queue of its class, own attempts, artifacts, report and verdict); the
parent is never sent to a broker. Its state, progress and per-target results follow its children: every
child transition calls ``refresh_parent`` (from ``app.jobs.states.transition``, in the same transaction).

The parent's state: ``running`` once any target started; when every target has ended, ``succeeded`` if all
succeeded, ``failed`` if any failed (the error names which), else ``cancelled``. Cancelling the parent cancels
every target still queued or running.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.errors import InvalidState
from app.core.ids import new_id
from app.core.models import Job, utcnow
from app.core.schemas.recipe import Recipe
from app.fleet.registry import class_queue
from app.jobs.routing import FANOUT
from app.jobs.snapshots import touch
from app.jobs.states import TERMINAL, JobStatus, add_event, lock_job, transition


def is_parent(job: Any) -> bool:
    return bool(job.queue == FANOUT)


def create_targets(session: Session, parent: Job, recipe: Recipe) -> list[Job]:
    """One queued child job per target class, each with the recipe narrowed to its class."""
    children = []
    for hardware_class in recipe.target.hardware_classes():
        target = recipe.target.model_copy(update={"hardware": hardware_class})
        child_recipe = recipe.model_copy(update={"target": target})
        child = Job(
            id=new_id("job"),
            tenant_id=parent.tenant_id,
            model_id=parent.model_id,
            dataset_id=parent.dataset_id,
            recipe=child_recipe.model_dump(mode="json"),
            queue=class_queue(hardware_class),
            hardware_class=hardware_class,
            parent_id=parent.id,
            status=JobStatus.queued.value,
            status_reason=None,
            progress=0.0,
            attempts=0,
            event_seq=0,
        )
        session.add(child)
        children.append(child)
    session.flush()
    return children


def children_of(session: Session, parent_id: str) -> list[Job]:
    return list(
        session.scalars(
            select(Job)
            .where(Job.parent_id == parent_id)
            .order_by(Job.created_at, Job.id)
            .execution_options(populate_existing=True)
        )
    )


def target_view(child: Job) -> dict[str, Any]:
    """One target of a multi-target job, as the parent's ``targets`` lists it."""
    return {
        "hardware_class": child.hardware_class,
        "job_id": child.id,
        "status": child.status,
        "status_reason": child.status_reason,
        "progress": child.progress,
        "error": {"code": child.error_code, "message": child.error_message or ""} if child.error_code else None,
        "result": child.result,
    }


def _outcome(children: list[Job]) -> tuple[JobStatus, str | None]:
    """The parent's state for its children's, and the error message when it failed."""
    statuses = [JobStatus(child.status) for child in children]
    if not all(status in TERMINAL for status in statuses):
        started = any(status is not JobStatus.queued for status in statuses)
        return (JobStatus.running if started else JobStatus.queued), None
    failed = [child for child in children if child.status == JobStatus.failed.value]
    if failed:
        return JobStatus.failed, "; ".join(
            f"{child.hardware_class}: {child.error_code}: {child.error_message}" for child in failed
        )
    if all(status is JobStatus.succeeded for status in statuses):
        return JobStatus.succeeded, None
    return JobStatus.cancelled, None


def refresh_parent(session: Session, parent_id: str) -> None:
    """Bring the parent in line with its children: per-target results, progress, waiting reason and state.

    The caller holds the parent's lock (``transition`` takes it before touching a child).
    """
    parent = session.execute(
        select(Job).where(Job.id == parent_id).execution_options(populate_existing=True)
    ).scalar_one()
    children = children_of(session, parent_id)
    waiting = [child.status_reason for child in children if child.status_reason and child.status == "queued"]
    session.execute(
        update(Job)
        .where(Job.id == parent_id)
        .values(
            result={"targets": [target_view(child) for child in children]},
            progress=sum(1.0 if child.status in TERMINAL else child.progress for child in children)
            / max(1, len(children)),
            status_reason=waiting[0] if waiting and parent.status == "queued" else None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    touch(session, parent_id)
    old = JobStatus(parent.status)
    new, error = _outcome(children)
    if new is old or old in TERMINAL:
        return
    if old is JobStatus.queued and new is JobStatus.succeeded:
        transition(session, parent_id, old, JobStatus.running, message="a target started")
        old = JobStatus.running
    if new is JobStatus.running:
        transition(session, parent_id, old, new, message="a target started")
        return
    message = {
        JobStatus.succeeded: "every target succeeded",
        JobStatus.failed: f"a target failed ({error})",
        JobStatus.cancelled: "every target ended; some were cancelled",
    }[new]
    extra: dict[str, Any] = {"error_code": "target_failed", "error_message": error} if error else {}
    transition(session, parent_id, old, new, message=message, **extra)


def cancel_targets(session: Session, parent: Job) -> None:
    """Cancel every target still queued or running; the parent follows. InvalidState when none was active."""
    lock_job(session, parent.id)
    cancelled = 0
    for child in children_of(session, parent.id):
        for old in (JobStatus.queued, JobStatus.running):
            if JobStatus(child.status) is old and transition(
                session, child.id, old, JobStatus.cancelled, message="cancelled by the user (the whole job)"
            ):
                cancelled += 1
    if not cancelled:
        raise InvalidState(f"job {parent.id} is already {parent.status}; no target is queued or running")
    add_event(session, parent.id, "log", f"cancelled {cancelled} target(s)")
