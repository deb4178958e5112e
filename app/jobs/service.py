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
from app.core.errors import IdempotencyConflict, IncompatibleDataset, InvalidState, NotFound
from app.core.ids import could_exist, new_id
from app.core.models import Artifact, Dataset, Job, JobEvent, Model
from app.core.pagination import paginate
from app.core.schemas.recipe import Recipe
from app.core.schemas.tensors import TensorSpec
from app.core.settings import Settings
from app.jobs.routing import queue_for
from app.jobs.schemas import JobCreate
from app.jobs.states import JobStatus, add_event, transition
from app.tenants.limits import check_job_creation
from app.uploads.kinds import DATASETS, MODELS
from app.uploads.service import get_owned
from app.uploads.validation import DatasetInfo, ModelInfo, check_compatible, check_recipe_fits_model
from app.webhooks.signing import check_webhook_url


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
        arrays=[TensorSpec.model_validate(t) for t in dataset.arrays],
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
    check_job_creation(session, tenant_id, settings)
    model = get_owned(session, MODELS, tenant_id, body.model_id, lock="share")
    dataset = get_owned(session, DATASETS, tenant_id, body.dataset_id, lock="share")
    model_info = _model_info(model)
    check_compatible(model_info, _dataset_info(dataset))
    recipe = body.recipe()
    check_recipe_fits_model(recipe, model_info)
    _check_recipe_against_data(recipe, dataset)
    if body.webhook_url:
        check_webhook_url(body.webhook_url, allow_private=settings.webhook_allow_private)
    job = Job(
        id=new_id("job"),
        tenant_id=tenant_id,
        model_id=model.id,
        dataset_id=dataset.id,
        recipe=recipe.model_dump(mode="json"),
        queue=queue_for(recipe),
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
    add_event(session, job.id, "state", "job queued", {"to": JobStatus.queued.value, "queue": job.queue})
    return job, True


def _check_recipe_against_data(recipe: Recipe, dataset: Dataset) -> None:
    if dataset.num_samples < 2:
        raise IncompatibleDataset(
            "the dataset needs at least 2 samples (some to calibrate, some to evaluate)",
            errors=[{"field": "dataset_id", "message": f"{dataset.num_samples} sample(s)"}],
        )


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
) -> tuple[list[Job], str | None]:
    stmt = select(Job).where(Job.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if updated_since:
        stmt = stmt.where(Job.updated_at >= updated_since)
    return paginate(session, stmt, Job, cursor=cursor, limit=limit)


def cancel_job(session: Session, tenant_id: str, job_id: str) -> Job:
    """Cancel a queued job at once; a running job is marked cancelled and its worker stops within seconds."""
    job = get_job(session, tenant_id, job_id)
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
        "result": job.result,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempts": job.attempts,
    }
