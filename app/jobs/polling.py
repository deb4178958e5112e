"""The polling path's fast lane: GET /v1/jobs/{id} answered from its job snapshot before FastAPI's routing.

A poll whose API key this process verified within ``SLIMLINE_API_KEY_CACHE_S`` and whose job snapshot is
cached (in this process or in Redis) needs nothing of FastAPI: no routing, no dependency resolution, no
session. :class:`JobPollFastPath` answers such a poll with the very response the route builds
(:func:`job_response`), inside the request context middleware (same request id, access log line and
metrics, under the route's label), and hands every other request, and every poll that misses, to the
app unchanged: the route then authenticates, reads the database and caches the snapshot for the next
poll (docs/architecture.md §3, "Job snapshots").
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.settings import Settings
from app.jobs import snapshots
from app.tenants.keys import bearer_token, cached_tenant

JOB_ID_PARAM = "{job_id}"


def etag_matches(etag: str, if_none_match: str | None) -> bool:
    """Whether an ``If-None-Match`` header's value names ``etag`` (a comma-separated list of quoted tags)."""
    return if_none_match is not None and etag in [tag.strip() for tag in if_none_match.split(",")]


def job_response(snapshot: snapshots.Snapshot, if_none_match: str | None) -> Response:
    """GET /v1/jobs/{id}'s answer: the snapshot's bytes, or 304 when the client holds them already."""
    if etag_matches(snapshot.etag, if_none_match):
        return Response(status_code=304, headers={"ETag": snapshot.etag})
    return Response(
        snapshot.body, media_type="application/json", headers={"ETag": snapshot.etag, "Cache-Control": "no-cache"}
    )


class JobPollFastPath:
    """Plain ASGI: answers a cached poll of ``route`` (GET /v1/jobs/{job_id}); passes everything else on."""

    def __init__(self, app: ASGIApp, settings: Settings, route: BaseRoute) -> None:
        self.app = app
        self.settings = settings
        self.route = route
        path: str = getattr(route, "path")  # noqa: B009 - BaseRoute declares no path; the route has one
        if not path.endswith(JOB_ID_PARAM):
            raise ValueError(f"the fast path serves a route ending in {JOB_ID_PARAM}, not {path}")
        self.prefix = path.removesuffix(JOB_ID_PARAM)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            path: str = scope["path"]
            job_id = path[len(self.prefix) :] if path.startswith(self.prefix) else ""
            if job_id and "/" not in job_id:  # what the route's {job_id} matches
                response = await self._cached_response(scope, job_id)
                if response is not None:
                    scope["route"] = self.route  # the request context middleware labels metrics by it
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _cached_response(self, scope: Scope, job_id: str) -> Response | None:
        """The route's response when key and snapshot are both cached; None sends the poll down the route."""
        authorization: bytes | None = None
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            # The first of repeated headers counts, as it does for the route (Starlette's Headers.get).
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"if-none-match" and if_none_match is None:
                if_none_match = value
        token = bearer_token(authorization.decode("latin-1")) if authorization else None
        tenant = cached_tenant(token)
        if tenant is None:
            return None
        store = snapshots.store_for(self.settings.database_url, self.settings.broker_url)
        snapshot = await snapshots.cached(store, tenant.id, job_id)
        if snapshot is None:
            return None
        return job_response(snapshot, if_none_match.decode("latin-1") if if_none_match is not None else None)
