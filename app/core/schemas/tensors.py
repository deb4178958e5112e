"""Tensor signatures shared by models and datasets."""

from __future__ import annotations

from pydantic import BaseModel, Field

# A dimension is a fixed size, a symbolic name (dynamic, e.g. "batch") or null (unknown).
Dim = int | str | None


class TensorSpec(BaseModel):
    """Name, element type (numpy spelling, e.g. ``float32``) and shape of one tensor."""

    name: str
    dtype: str
    shape: list[Dim] = Field(default_factory=list)
