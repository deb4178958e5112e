"""What the API says about uploaded models and datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.core.schemas.common import ReadModel
from app.core.schemas.tensors import TensorSpec


class ModelRead(ReadModel):
    id: str = Field(examples=["mdl_3f2a9c0b1d4e5f6a7b8c9d0e"])
    name: str
    format: Literal["onnx", "torch_export"]
    size_bytes: int
    sha256: str
    opset: int | None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    parameter_count: int
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime


class DatasetRead(ReadModel):
    id: str = Field(examples=["ds_3f2a9c0b1d4e5f6a7b8c9d0e"])
    name: str
    size_bytes: int
    sha256: str
    arrays: list[TensorSpec]
    num_samples: int
    has_labels: bool
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime
