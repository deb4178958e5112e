"""Typed errors carrying the problem+json ``code``, ``status`` and ``detail``."""

from __future__ import annotations

from typing import Any

import httpx


class SlimlineError(Exception):
    def __init__(self, status: int, code: str, detail: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail = status, code, detail
        self.problem = problem or {}
        self.errors: list[dict[str, Any]] = list(self.problem.get("errors", []))
        self.request_id: str | None = self.problem.get("request_id")


class UnauthorizedError(SlimlineError):
    pass


class ForbiddenError(SlimlineError):
    """The key is valid but may not do this (``GET /v1/workers`` needs an operator key)."""


class NotFoundError(SlimlineError):
    pass


class ConflictError(SlimlineError):
    pass


class PayloadTooLargeError(SlimlineError):
    pass


class ValidationError(SlimlineError):
    pass


class RateLimitedError(SlimlineError):
    @property
    def retry_after_s(self) -> float | None:
        value = self.problem.get("_retry_after")
        return float(value) if value else None


class ServerUnavailableError(SlimlineError, httpx.TransportError):
    """The server could not be reached (refused, unknown host, TLS, connect timeout: ``status`` 0), or it
    answered 503. Also an ``httpx.TransportError``, so code that retries transport failures keeps working."""


BY_STATUS = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServerUnavailableError,
}


class ReportingTransport(httpx.HTTPTransport):
    """httpx's transport, with a failure to reach the server raised as :class:`ServerUnavailableError`."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            where = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
            error = ServerUnavailableError(
                0, "server_unavailable", f"cannot reach the Slimline server at {where}: {exc or type(exc).__name__}"
            )
            error.request = request
            raise error from exc


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the typed error for a 4xx/5xx answer (problem+json or not)."""
    if response.status_code < 400:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    if "retry-after" in response.headers:
        problem["_retry_after"] = response.headers["retry-after"]
    cls = BY_STATUS.get(response.status_code, SlimlineError)
    raise cls(
        response.status_code,
        str(problem.get("code", f"http_{response.status_code}")),
        str(problem.get("detail", response.text[:500] or response.reason_phrase)),
        problem,
    )
