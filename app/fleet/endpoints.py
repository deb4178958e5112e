"""The fleet: hardware classes (every tenant: what `target.hardware` can name, and whether it is live) and
workers (operators: every field a worker registered)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.deps import SessionDep, SettingsDep, TenantDep
from app.fleet import registry
from app.fleet.schemas import HardwareClassRead, HardwareRead, WorkerRead
from app.http import problems
from app.jobs.routing import QUEUES
from app.tenants.keys import require_operator

router = APIRouter(prefix="/v1", tags=["fleet"])


@router.get(
    "/hardware",
    response_model=HardwareRead,
    responses=problems(401),
    operation_id="list_hardware",
    summary="Hardware classes: live workers and queue depth per class",
)
def list_hardware(tenant: TenantDep, session: SessionDep, settings: SettingsDep) -> Any:
    summaries = registry.class_summaries(session, settings.worker_lost_after_s)
    live = registry.live_workers(session, settings.worker_lost_after_s)
    return HardwareRead(
        classes=[HardwareClassRead(**vars(summary)) for summary in summaries],
        generic_queues={queue: sum(queue in worker.queues for worker in live) for queue in QUEUES},
    )


@router.get(
    "/workers",
    response_model=list[WorkerRead],
    responses=problems(401, 403),
    operation_id="list_workers",
    summary="Workers (operators): every registered field, state and current jobs",
)
def list_workers(request: Request, tenant: TenantDep, session: SessionDep, settings: SettingsDep) -> Any:
    """Needs an operator key (`slimline keys create --operator`); other keys get 403."""
    require_operator(session, request.headers.get("authorization", ""))
    running = registry.running_jobs_by_worker(session)
    return [
        WorkerRead.of(registry.worker_view(worker, running.get(worker.id, []), settings.worker_lost_after_s))
        for worker in registry.all_workers(session)
    ]
