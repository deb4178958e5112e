"""Shapes shared by every resource: pages, problems, and the base of every read model."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ReadModel(BaseModel):
    """A resource as the API returns it, read from its ORM row's attributes."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(description="A stable URI for the problem kind.")
    title: str
    status: int
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_model`.")
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)
    request_id: str | None = None
