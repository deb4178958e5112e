"""Domain errors. No HTTP in here: ``app.main`` maps them to RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can act on. ``code`` is stable; ``detail`` is for humans."""

    code = "error"
    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors and headers when the error crosses a process boundary (isolated validation).
        return (_rebuild, (type(self), self.detail, self.errors, self.headers))


def _rebuild(cls: type[DomainError], detail: str, errors: list[dict[str, Any]], headers: dict[str, str]) -> DomainError:
    return cls(detail, errors=errors, headers=headers)


class Unauthorized(DomainError):
    code, status, title = "unauthorized", 401, "Unauthorized"


class NotFound(DomainError):
    code, status, title = "not_found", 404, "Not found"


class Conflict(DomainError):
    code, status, title = "conflict", 409, "Conflict"


class InUse(Conflict):
    code = "in_use"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class InvalidState(Conflict):
    code = "invalid_state"


class PayloadTooLarge(DomainError):
    code, status, title = "payload_too_large", 413, "Payload too large"


class UnsupportedMediaType(DomainError):
    code, status, title = "unsupported_media_type", 415, "Unsupported media type"


class InvalidInput(DomainError):
    code, status, title = "invalid_input", 422, "Invalid input"


class InvalidModel(InvalidInput):
    code = "invalid_model"


class UnsafeModel(InvalidModel):
    code = "unsafe_model"


class InvalidDataset(InvalidInput):
    code = "invalid_dataset"


class IncompatibleDataset(InvalidInput):
    code = "dataset_incompatible"


class InvalidRecipe(InvalidInput):
    code = "invalid_recipe"


class ServiceUnavailable(DomainError):
    code, status, title = "service_unavailable", 503, "Service unavailable"


class StorageError(DomainError):
    code, status, title = "storage_error", 503, "Storage unavailable"


class InsufficientStorage(DomainError):
    code, status, title = "insufficient_storage", 507, "Insufficient storage"


class RateLimited(DomainError):
    code, status, title = "rate_limited", 429, "Too many requests"


class QuotaExceeded(DomainError):
    code, status, title = "quota_exceeded", 403, "Quota exceeded"


class BodyTimeout(DomainError):
    code, status, title = "body_timeout", 408, "Request timeout"


class TooManyUploads(RateLimited):
    code = "too_many_uploads"


class NoMatchingHardware(InvalidInput):
    code = "no_matching_hardware"


class Forbidden(DomainError):
    code, status, title = "forbidden", 403, "Forbidden"
