"""Jobs: create (idempotent), read, list, cancel, events, artifacts."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.db import read_one
from app.core.errors import IdempotencyConflict, IncompatibleDataset, InvalidState, NoMatchingHardware, NotFound
from app.core.ids import could_exist, new_id
from app.core.models import Artifact, Dataset, Job, JobEvent, Model
from app.core.pagination import paginate
from app.core.schemas.recipe import Recipe
from app.core.schemas.tensors import TensorSpec
from app.core.settings import Settings
from app.fleet import registry
from app.jobs import fanout
from app.jobs.routing import queue_for
from app.jobs.schemas import JobCreate
from app.jobs.states import JobStatus, add_event, transition
from app.tenants.limits import check_job_creation
from app.uploads.kinds import DATASETS, MODELS
from app.uploads.service import get_owned
from app.uploads.validation import (
    ArraySpec,
    DatasetInfo,
    ModelInfo,
    check_compatible,
    check_recipe_fits_data,
    check_recipe_fits_model,
)
from app.webhooks.signing import check_webhook_url

WAITING_FOR_HARDWARE = "waiting_for_hardware"


def _request_sha256(body: JobCreate) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _model_info(model: Model) -> ModelInfo:
    return ModelInfo(
        format=model.format,  # type: ignore[arg-type]
        opset=model.opset,
        inputs=[TensorSpec.model_validate(t) for t in model.inputs],
        outputs=[TensorSpec.model_validate(t) for t in model.outputs],
        parameter_count=model.parameter_count,
        warnings=list(model.warnings),
    )


def _dataset_info(dataset: Dataset) -> DatasetInfo:
    return DatasetInfo(
        arrays=[ArraySpec.model_validate(t) for t in dataset.arrays],
        num_samples=dataset.num_samples,
        has_labels=dataset.has_labels,
        warnings=list(dataset.warnings),
    )


def find_by_idempotency_key(session: Session, tenant_id: str, key: str, request_sha256: str) -> Job | None:
    job = session.scalar(select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_key == key))
    if job is not None and job.request_sha256 != request_sha256:
        raise IdempotencyConflict("this Idempotency-Key was already used with a different request body; use a new key")
    return job


def create_job(
    session: Session, settings: Settings, *, tenant_id: str, body: JobCreate, idempotency_key: str | None
) -> tuple[Job, bool]:
    """Create a queued job. Returns (job, created); an idempotent replay returns the first job."""
    digest = _request_sha256(body)
    if idempotency_key:
        existing = find_by_idempotency_key(session, tenant_id, idempotency_key, digest)
        if existing is not None:
            return existing, False
    recipe = body.recipe()
    classes = recipe.target.hardware_classes()
    check_job_creation(session, tenant_id, settings, runs=max(1, len(classes)))
    model = get_owned(session, MODELS, tenant_id, body.model_id, lock="share")
    dataset = get_owned(session, DATASETS, tenant_id, body.dataset_id, lock="share")
    model_info = _model_info(model)
    check_compatible(model_info, _dataset_info(dataset), recipe.evaluation)
    check_recipe_fits_model(recipe, model_info)
    _check_recipe_against_data(recipe, dataset)
    if body.webhook_url:
        check_webhook_url(body.webhook_url, allow_private=settings.webhook_allow_private)
    check_hardware_exists(session, classes)
    job = Job(
        id=new_id("job"),
        tenant_id=tenant_id,
        model_id=model.id,
        dataset_id=dataset.id,
        recipe=recipe.model_dump(mode="json"),
        queue=queue_for(recipe),
        hardware_class=classes[0] if len(classes) == 1 else None,
        status=JobStatus.queued.value,
        progress=0.0,
        attempts=0,
        event_seq=0,
        idempotency_key=idempotency_key,
        request_sha256=digest,
        webhook_url=body.webhook_url,
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the insert.
        if not idempotency_key:
            raise
        winner = find_by_idempotency_key(session, tenant_id, idempotency_key, digest)
        if winner is None:
            raise
        return winner, False
    live = registry.live_queues(session, settings.worker_lost_after_s)  # once, for the job and its targets
    if fanout.is_parent(job):
        add_event(
            session,
            job.id,
            "state",
            f"job queued: one run per target ({', '.join(classes)})",
            {"to": JobStatus.queued.value, "targets": classes},
        )
        for child in fanout.create_targets(session, job, recipe):
            _queue(session, live, child, f"job queued for {child.hardware_class} (target of {job.id})")
        fanout.refresh_parent(session, job.id)
        session.refresh(job)  # the parent's targets and reason were written by statement
    else:
        _queue(session, live, job, "job queued")
    return job, True


def runs_to_send(session: Session, job: Job) -> list[tuple[str, str]]:
    """(job id, queue) of what the broker must get for a new job: the job, or each target of a multi-target job."""
    if fanout.is_parent(job):
        return [(child.id, child.queue) for child in fanout.children_of(session, job.id)]
    return [(job.id, job.queue)]


def check_hardware_exists(session: Session, classes: list[str]) -> None:
    """422 ``no_matching_hardware`` for a target class no registered worker has ever offered."""
    known = registry.known_classes(session)
    unknown = [name for name in classes if name not in known]
    if unknown:
        offered = ", ".join(known) if known else "none (no worker has registered yet)"
        raise NoMatchingHardware(
            f"no worker of hardware class {', '.join(map(repr, unknown))} has ever registered; classes offered: "
            f"{offered}. GET /v1/hardware lists them.",
            errors=[{"field": "target.hardware", "message": f"unknown class {name!r}"} for name in unknown],
        )


def waiting_reason(live_queues: set[str], queue: str) -> str | None:
    """``waiting_for_hardware`` while no live worker consumes the job's queue."""
    return None if queue in live_queues else WAITING_FOR_HARDWARE


def describe_wait(queue: str) -> str:
    if queue.startswith(registry.CLASS_QUEUE_PREFIX):
        return f"no live worker of class {queue.removeprefix(registry.CLASS_QUEUE_PREFIX)}"
    return f"no live worker takes the {queue} queue" + (" (no GPU worker)" if queue == "gpu" else "")


def _queue(session: Session, live_queues: set[str], job: Job, message: str) -> None:
    """The job's first event, with the reason it may wait (a job is never refused for a worker that is down)."""
    job.status_reason = waiting_reason(live_queues, job.queue)
    data: dict[str, Any] = {"to": JobStatus.queued.value, "queue": job.queue}
    if job.status_reason:
        message += f"; waiting for hardware: {describe_wait(job.queue)}, it starts when one is back"
        data["status_reason"] = job.status_reason
    add_event(session, job.id, "state", message, data)


def _check_recipe_against_data(recipe: Recipe, dataset: Dataset) -> None:
    if dataset.num_samples < 2:
        raise IncompatibleDataset(
            "the dataset needs at least 2 samples (some to calibrate, some to evaluate)",
            errors=[{"field": "dataset_id", "message": f"{dataset.num_samples} sample(s)"}],
        )
    check_recipe_fits_data(recipe, dataset.num_samples)


def read_job(database_url: str, tenant_id: str, job_id: str) -> Row[Any]:
    """The job's row for a read-only view, in one round trip (see ``app.core.db.read_one``)."""
    if not could_exist(job_id):
        raise NotFound(f"job {job_id!r} not found")
    row = read_one(database_url, select(Job.__table__).where(Job.id == job_id, Job.tenant_id == tenant_id))
    if row is None:
        raise NotFound(f"job {job_id!r} not found")
    return row


def get_job(session: Session, tenant_id: str, job_id: str) -> Job:
    if not could_exist(job_id):
        raise NotFound(f"job {job_id!r} not found")
    job = session.scalar(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))
    if job is None:
        raise NotFound(f"job {job_id!r} not found")
    return job


def list_jobs(
    session: Session,
    tenant_id: str,
    *,
    status: str | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
    parent_id: str | None = None,
) -> tuple[list[Job], str | None]:
    """Jobs as submitted (a multi-target job once), or the targets of ``parent_id``."""
    stmt = select(Job).where(
        Job.tenant_id == tenant_id, Job.parent_id == parent_id if parent_id else Job.parent_id.is_(None)
    )
    if status:
        stmt = stmt.where(Job.status == status)
    if updated_since:
        stmt = stmt.where(Job.updated_at >= updated_since)
    return paginate(session, stmt, Job, cursor=cursor, limit=limit)


def cancel_job(session: Session, tenant_id: str, job_id: str) -> Job:
    """Cancel a queued job at once; a running job is marked cancelled and its worker stops within seconds."""
    job = get_job(session, tenant_id, job_id)
    if fanout.is_parent(job):
        fanout.cancel_targets(session, job)
        session.refresh(job)
        return job
    for old in (JobStatus.queued, JobStatus.running):
        if transition(session, job.id, old, JobStatus.cancelled, message="cancelled by the user"):
            session.refresh(job)
            return job
    session.refresh(job)
    raise InvalidState(f"job {job_id} is already {job.status}; only queued or running jobs can be cancelled")


def list_events(session: Session, tenant_id: str, job_id: str, *, after: int, limit: int) -> list[JobEvent]:
    get_job(session, tenant_id, job_id)
    return events_after(session, job_id, after=after, limit=limit)


def events_after(session: Session, job_id: str, *, after: int, limit: int) -> list[JobEvent]:
    stmt = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.seq > after).order_by(JobEvent.seq).limit(limit)
    return list(session.scalars(stmt))


def events_and_status(session: Session, job_id: str, *, after: int, limit: int) -> tuple[list[JobEvent], str]:
    """The job's events with seq > ``after`` and its status, read in the same transaction (for the SSE stream)."""
    events = events_after(session, job_id, after=after, limit=limit)
    status = session.scalar(select(Job.status).where(Job.id == job_id))
    assert status is not None  # jobs are never deleted, and the stream checked the id first
    return events, status


def list_artifacts(session: Session, tenant_id: str, job_id: str) -> list[Artifact]:
    get_job(session, tenant_id, job_id)
    return list(session.scalars(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.name)))


def get_artifact(session: Session, tenant_id: str, job_id: str, name: str) -> Artifact:
    get_job(session, tenant_id, job_id)
    artifact = session.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.name == name))
    if artifact is None:
        raise NotFound(f"job {job_id} has no artifact {name!r}")
    return artifact


def job_view(job: Job | Row[Any]) -> dict[str, Any]:
    """The Job resource as clients see it."""
    parent = fanout.is_parent(job)
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "model_id": job.model_id,
        "dataset_id": job.dataset_id,
        "recipe": job.recipe,
        "webhook_url": job.webhook_url,
        "error": {"code": job.error_code, "message": job.error_message or ""} if job.error_code else None,
        "status_reason": job.status_reason,
        "hardware_class": job.hardware_class,
        "parent_id": job.parent_id,
        # a multi-target job's results are its targets'; its own result stays null
        "result": None if parent else job.result,
        "targets": (job.result or {}).get("targets", []) if parent else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
    }
