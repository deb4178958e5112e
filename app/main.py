"""create_app(): routers, problem+json mapping, request ids, metrics, start-up checks."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import configure_mappers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.core.errors import DomainError, PayloadTooLarge
from app.core.observability import Metrics, request_id_var
from app.core.schemas.common import Problem
from app.core.settings import Settings, get_settings
from app.core.storage import make_store
from app.docs_ui import install_offline_docs
from app.fleet.metrics import FleetCollector
from app.jobs import snapshots
from app.jobs.polling import JobPollFastPath
from app.validation_errors import body_model, describe

log = logging.getLogger("slimline.api")
PROBLEM_BASE = "https://slimline.dev/problems/"
# The routes whose multipart body is streamed to staging under its own cap (app/uploads/receive.py).
UPLOAD_PATHS = frozenset({"/v1/models", "/v1/datasets"})
# The request headers the request context reads.
CONTEXT_HEADERS = frozenset({b"x-request-id", b"content-type", b"content-length"})


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + code,
        title=title,
        status=status,
        code=code,
        detail=detail,
        instance=instance,
        errors=errors or [],
        request_id=request_id_var.get(),
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type="application/problem+json", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            instance=request.url.path,
            headers=exc.headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = describe(exc.errors(), document=exc.body, model=body_model(request.scope.get("route")))
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid request"
        return problem(422, "validation_error", "Invalid request", detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable", 400: "bad_request"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return problem(
            exc.status_code,
            code,
            str(exc.detail),
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    def unavailable(request: Request, code: str, detail: str, retry_after_s: int) -> JSONResponse:
        """A 503 the client should retry: overload or a database that is away, never a bug (never 500)."""
        headers = {"Retry-After": str(retry_after_s)}
        return problem(503, code, "Service unavailable", detail, instance=request.url.path, headers=headers)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for db_pool_timeout_s.
        log.warning("database pool exhausted", extra={"error": str(exc)})
        detail = "the server is busy: no database connection came free in time; retry shortly"
        return unavailable(request, "database_busy", detail, 2)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        if "database is locked" in str(exc.orig):  # SQLite: another writer held the lock past busy_timeout
            log.warning("database busy", extra={"error": str(exc.orig)})
            return unavailable(request, "database_busy", "the database is busy; retry shortly", 2)
        if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001"):  # deadlock / serialization failure
            log.warning("transient database conflict", extra={"error": str(exc.orig)})
            detail = "the request collided with a concurrent one; retry it"
            return unavailable(request, "transient_conflict", detail, 1)
        log.error("database unavailable", extra={"error": str(exc.orig)})
        return unavailable(request, "database_unavailable", "the database is unreachable; retry shortly", 5)

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return unavailable(request, "database_unavailable", "the database connection was lost; retry shortly", 5)
        log.exception("database error")
        return problem(
            500, "internal_error", "Internal error", "an unexpected database error occurred", instance=request.url.path
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(
            500,
            "internal_error",
            "Internal error",
            "an unexpected error occurred; quote the request id when reporting it",
            instance=request.url.path,
        )


class RequestContextMiddleware:
    """Request id, request body size limit, access log and metrics, as plain ASGI (streaming-safe)."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            if (name := raw_name.lower()) in CONTEXT_HEADERS:  # the last of repeated headers counts
                headers[name.decode("latin-1")] = raw_value.decode("latin-1")
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        limit = self.settings.max_json_body_bytes
        received = 0
        rejected = False

        async def guarded_send(message: Any) -> None:
            if not rejected:  # after our 413 went out, whatever the app answers is dropped
                await send_wrapper(message)

        async def counting_receive() -> Any:
            # Bodies without Content-Length (chunked) are counted as they arrive.
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request" and not rejected:
                received += len(message.get("body", b""))
                if received > limit:
                    exc = PayloadTooLarge(f"request bodies are limited to {limit} bytes")
                    await problem(exc.status, exc.code, exc.title, exc.detail, instance=scope["path"])(
                        scope, receive, send_wrapper
                    )
                    rejected = True
                    return {"type": "http.disconnect"}
            return message

        try:
            # Every body but a multipart upload to an upload route (capped while streamed, app/uploads/receive.py)
            # is capped here, whatever its Content-Type says: routes parse JSON sent as text/plain, with no type
            # at all, or claiming to be multipart.
            media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            streamed_upload = media_type == "multipart/form-data" and scope["path"].rstrip("/") in UPLOAD_PATHS
            streamed_upload |= scope["method"] == "PUT" and scope["path"].startswith("/v1/uploads/")  # parts: own cap
            if not streamed_upload:
                length = headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    exc = PayloadTooLarge(f"request bodies are limited to {limit} bytes")
                    response = problem(exc.status, exc.code, exc.title, exc.detail, instance=scope["path"])
                    await response(scope, receive, send_wrapper)
                    return
                await self.app(scope, counting_receive, guarded_send)
                return
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            self.metrics.count_request(scope["method"], route_path, status_holder["status"], elapsed)
            if log.isEnabledFor(logging.INFO):  # the line's fields cost more than the check
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route_path,
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
    schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "description": "API key"}}
    schema["security"] = [{"bearer": []}]
    schema["components"]["securitySchemes"]["metrics"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "SLIMLINE_METRICS_TOKEN (not an API key); none when SLIMLINE_METRICS_PUBLIC is on",
    }
    for path in ("/healthz", "/readyz"):
        for op in schema["paths"].get(path, {}).values():
            op["security"] = []
    for op in schema["paths"].get("/metrics", {}).values():
        op["security"] = [{"metrics": []}, {}]
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        from app.core.migrate import ensure_database_ready

        ensure_database_ready(settings)
        # Built now rather than by the first requests, which would stall the others (a few hundred ms
        # importing the Redis client), and frozen below with the rest: the snapshot store, the ORM's mappers.
        snapshots.store_for(settings.database_url, settings.broker_url)
        configure_mappers()
        # Everything loaded at start-up lives as long as the process: keep it out of the collector's full
        # passes, which otherwise stall every request in flight (~90 ms at 127k objects, the p99 of polling).
        gc.collect()
        gc.freeze()
        yield
        from app.uploads.validation import isolated

        isolated.shutdown()

    app = FastAPI(
        title="Slimline",
        version=__version__,
        description="Model optimization as a service: upload a model and a dataset, queue an optimization "
        "job, and download a smaller, faster ONNX model with a report that proves what changed.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_offline_docs: no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = make_store(settings)
    app.state.metrics = Metrics(settings.database_url)
    app.state.metrics.registry.register(FleetCollector(settings.database_url, settings.worker_lost_after_s))
    install_error_handlers(app)
    install_offline_docs(app)

    from app.fleet import endpoints as fleet
    from app.jobs import endpoints as jobs
    from app.ops import endpoints as ops
    from app.tenants import endpoints as tenants
    from app.ui import endpoints as ui
    from app.uploads import endpoints as uploads
    from app.webhooks import endpoints as webhooks

    app.include_router(ops.router)
    app.include_router(uploads.models_router)
    app.include_router(uploads.datasets_router)
    app.include_router(uploads.chunked_router)
    app.include_router(jobs.router)
    app.include_router(webhooks.router)
    app.include_router(tenants.router)
    app.include_router(fleet.router)
    app.include_router(ui.router)
    app.mount("/ui/static", ui.static_files(), name="ui-static")
    if settings.job_poll_fast_path:
        # Inside the request context (the first middleware added is the innermost): same ids, logs, metrics.
        get_job = next(r for r in jobs.router.routes if getattr(r, "endpoint", None) is jobs.get_job)
        app.add_middleware(JobPollFastPath, settings=settings, route=get_job)
    app.add_middleware(RequestContextMiddleware, settings=settings, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
