"""One HTTP request sent to an ASGI app directly, keeping the scope the app saw (which parts of it ran)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    """What the app sent (status, header list in order, body bytes) and the scope after the request."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    scope: dict[str, Any]

    @property
    def routed(self) -> bool:
        """Whether the request went through the app's router (it marks the scope), not a middleware's answer."""
        return "router" in self.scope

    def header(self, name: str) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k == name.lower().encode()]
        return values[0] if values else None


def asgi_get(app: Any, path: str, headers: dict[str, str]) -> Answer:
    """GET ``path`` from ``app`` in a fresh event loop, as uvicorn would send it (lower-case header names)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start["headers"]), body, scope)
