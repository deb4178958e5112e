"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.http import problems
from app.ops import service

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: database and broker reachable",
    responses={503: {"description": "Not ready", "content": {"application/json": {}}}},
)
async def readyz(request: Request) -> Any:
    settings = request.app.state.settings
    checks = {
        "database": await run_in_threadpool(service.database_ok, settings.database_url),
        "broker": await run_in_threadpool(service.broker_ok, settings),
    }
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {k: "ok" if v else "unreachable" for k, v in checks.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **problems(401, 404)},
)
def metrics(request: Request) -> Response:
    """Needs `Authorization: Bearer <SLIMLINE_METRICS_TOKEN>`; off (404) without a token unless
    SLIMLINE_METRICS_PUBLIC=true."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    service.check_metrics_access(request.app.state.settings, token.strip() if scheme.lower() == "bearer" else None)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
