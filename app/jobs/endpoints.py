"""Jobs: create, list, read (ETag), events (JSON or SSE), cancel, artifacts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.core.db import READ_CONCURRENCY, session_scope
from app.core.errors import InvalidInput, NotFound
from app.core.pagination import MAX_LIMIT, as_utc
from app.core.schemas.common import Page
from app.core.settings import Settings
from app.deps import SessionDep, SettingsDep, StoreDep, TenantDep
from app.http import BLOB_RESPONSES, RedirectQuery, blob_download, inline_document, problems
from app.jobs import comparison, fanout, polling, service, snapshots
from app.jobs.dispatch import dispatch
from app.jobs.schemas import ArtifactRead, EventRead, JobCreate, JobRead
from app.jobs.states import TERMINAL, JobStatus

if TYPE_CHECKING:
    from sqlalchemy import Row

    from app.core.models import Job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
ERRORS = problems(401, 404, 409, 413, 422, 429, 503)
SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15.0
MAX_EVENT_SEQ = 2**63 - 1  # job_events.seq is a Postgres bigint


def _read(job: Job) -> JobRead:
    return JobRead.model_validate(service.job_view(job))


_limiters: dict[int, anyio.CapacityLimiter] = {}


def _read_limiter() -> anyio.CapacityLimiter:
    """At most READ_CONCURRENCY hot-path reads in flight per event loop: as many as the read pool holds.

    Fewer threads contending for the GIL and no pool churn keep the tail latency down under load.
    """
    loop = id(asyncio.get_running_loop())
    if (limiter := _limiters.get(loop)) is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(READ_CONCURRENCY)
    return limiter


def _etag(job: Job | Row[Any]) -> str:
    """Changes whenever anything a client sees changes (every such write bumps ``updated_at``)."""
    version = f"{job.id}:{job.status}:{job.updated_at.isoformat()}:{job.event_seq}:{job.progress}:{job.attempts}"
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"'


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialize {type(value).__name__}")


@router.post(
    "",
    status_code=202,
    response_model=JobRead,
    responses=ERRORS,
    operation_id="create_job",
    summary="Create an optimization job",
)
def create_job(
    body: JobCreate,
    tenant: TenantDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(max_length=255, description="Same key + same body returns the same job.")
    ] = None,
) -> Any:
    job, created = service.create_job(
        session, settings, tenant_id=tenant.id, body=body, idempotency_key=idempotency_key
    )
    runs = service.runs_to_send(session, job) if created else []
    session.commit()
    for run_id, queue in runs:
        dispatch(settings, run_id, queue, record_outage=True)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    read = _read(job)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    response.headers["ETag"] = _etag(job)
    return read


@router.get("", response_model=Page[JobRead], responses=ERRORS, operation_id="list_jobs", summary="List jobs")
def list_jobs(
    tenant: TenantDep,
    session: SessionDep,
    status: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query()] = None,
    updated_since: Annotated[
        datetime | None, Query(description="RFC 3339; jobs updated at or after this time.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    parent_id: Annotated[
        str | None,
        Query(max_length=64, description="The targets of this multi-target job; unset: jobs as submitted."),
    ] = None,
) -> Any:
    if updated_since is not None:
        updated_since = as_utc(updated_since, field="updated_since")
    jobs, next_cursor = service.list_jobs(
        session, tenant.id, status=status, updated_since=updated_since, cursor=cursor, limit=limit, parent_id=parent_id
    )
    # Rows hold what JobRead validated when they were written: serialize them directly.
    body = {"items": [service.job_view(j) for j in jobs], "next_cursor": next_cursor}
    return Response(json.dumps(body, default=_json_default, separators=(",", ":")), media_type="application/json")


@router.get(
    "/{job_id}",
    response_model=JobRead,
    responses={304: {"description": "Not modified (If-None-Match matched)"}, **ERRORS},
    operation_id="get_job",
    summary="Get a job (send If-None-Match to poll cheaply)",
)
async def get_job(
    job_id: str,
    tenant: TenantDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    # The polling hot path: a cached snapshot (docs/architecture.md §3, "Job snapshots"); on a miss,
    # one thread hop and one database round trip, and the bytes are kept for the next poll. Polls whose
    # key and snapshot are both cached never get here: app/jobs/polling.py answers them first.
    async def load() -> snapshots.Snapshot:
        job = await anyio.to_thread.run_sync(
            service.read_job, settings.database_url, tenant.id, job_id, limiter=_read_limiter()
        )
        # The row holds what JobRead validated when it was written: serialize it directly.
        body = json.dumps(service.job_view(job), default=_json_default, separators=(",", ":")).encode()
        return snapshots.Snapshot(_etag(job), body)

    store = snapshots.store_for(settings.database_url, settings.broker_url)
    snapshot = await snapshots.fetch(store, tenant.id, job_id, load)
    return polling.job_response(snapshot, if_none_match)


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses=ERRORS,
    operation_id="cancel_job",
    summary="Cancel a queued or running job",
)
def cancel_job(job_id: str, tenant: TenantDep, session: SessionDep) -> Any:
    job = service.cancel_job(session, tenant.id, job_id)
    session.commit()
    return _read(job)


def _sse(settings: Settings, job_id: str, after: int) -> Iterator[str]:
    last_sent = time.monotonic()
    while True:
        with session_scope(settings.database_url) as session:
            events, status = service.events_and_status(session, job_id, after=after, limit=500)
        for event in events:
            after = event.seq
            payload = EventRead.model_validate(event).model_dump_json()
            yield f"id: {event.seq}\nevent: {event.type}\ndata: {payload}\n\n"
            last_sent = time.monotonic()
        if not events and JobStatus(status) in TERMINAL:
            yield f"event: end\ndata: {json.dumps({'status': status})}\n\n"
            return
        if time.monotonic() - last_sent > SSE_KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if not events:
            time.sleep(SSE_POLL_S)


def _last_event_seq(value: str) -> int:
    """The seq in a ``Last-Event-ID`` header; InvalidInput unless it is one this API could have sent."""
    seq = int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else -1
    if not 0 <= seq <= MAX_EVENT_SEQ:
        raise InvalidInput(
            "Last-Event-ID must be an event id this stream sent (a whole number from 0 to 2^63 - 1)",
            errors=[{"field": "Last-Event-ID", "message": "not an event id"}],
        )
    return seq


@router.get(
    "/{job_id}/events",
    response_model=list[EventRead],
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **ERRORS},
    operation_id="list_job_events",
    summary="Progress events: JSON list, or Server-Sent Events with `Accept: text/event-stream`",
)
def job_events(
    job_id: str,
    request: Request,
    tenant: TenantDep,
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_SEQ, description="Only events with seq > after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """Events with `seq > after`; with `Accept: text/event-stream`, a live Server-Sent Events stream.

    On the stream, a `Last-Event-ID` header (sent by reconnecting clients) replaces `after`. It must be
    an event id this stream sent (ASCII digits, at most 2^63 - 1); anything else is answered with a 422
    `invalid_input` problem before the stream starts. An empty header counts as absent.
    """
    stream = "text/event-stream" in request.headers.get("accept", "")
    start = _last_event_seq(last_event_id) if stream and last_event_id else after
    events = service.list_events(session, tenant.id, job_id, after=after, limit=limit)
    if stream:
        session.close()
        return StreamingResponse(
            _sse(settings, job_id, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return [EventRead.model_validate(e) for e in events]


@router.get(
    "/{job_id}/artifacts",
    response_model=list[ArtifactRead],
    responses=ERRORS,
    operation_id="list_job_artifacts",
    summary="List a job's artifacts",
)
def list_artifacts(job_id: str, tenant: TenantDep, session: SessionDep) -> Any:
    """A multi-target job's artifacts are its comparison (`comparison.json`, `comparison.html`); each target's
    model and report are its own job's artifacts (`targets[].job_id`)."""
    job = service.get_job(session, tenant.id, job_id)
    if fanout.is_parent(job):
        return [
            ArtifactRead(
                name=d.name, media_type=d.media_type, size_bytes=len(d.body), sha256=d.sha256, created_at=job.updated_at
            )
            for d in comparison.documents(job.id, service.job_view(job)["targets"]).values()
        ]
    return [ArtifactRead.model_validate(a) for a in service.list_artifacts(session, tenant.id, job_id)]


@router.get(
    "/{job_id}/artifacts/{name}",
    responses={**BLOB_RESPONSES, **ERRORS},
    response_class=StreamingResponse,
    operation_id="download_job_artifact",
    summary="Download an artifact",
)
def download_artifact(
    job_id: str, name: str, tenant: TenantDep, session: SessionDep, store: StoreDep, redirect: RedirectQuery = False
) -> Response:
    job = service.get_job(session, tenant.id, job_id)
    if fanout.is_parent(job):
        document = comparison.documents(job.id, service.job_view(job)["targets"]).get(name)
        if document is None:
            raise NotFound(f"job {job_id} has no artifact {name!r}; its targets' artifacts are under their own jobs")
        return inline_document(document.body, filename=document.name, media_type=document.media_type)
    artifact = service.get_artifact(session, tenant.id, job_id, name)
    return blob_download(
        store,
        artifact.blob_key,
        filename=artifact.name,
        media_type=artifact.media_type,
        size_bytes=artifact.size_bytes,
        sha256=artifact.sha256,
        redirect=redirect,
    )
