"""What the API says about uploaded models and datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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


HEX64 = r"^[0-9a-f]{64}$"


class ChunkedUploadCreate(BaseModel):
    kind: Literal["model", "dataset"]
    filename: str = Field(min_length=1, max_length=255, description="The file's name (.onnx, .zip, .tar, .npz…).")
    name: str | None = Field(None, max_length=255, description="Display name; default: the file name.")
    size_bytes: int = Field(gt=0, description="The whole file's size in bytes.")
    sha256: str | None = Field(None, pattern=HEX64, description="The whole file's SHA-256 (hex), if known now.")
    part_size_bytes: int | None = Field(
        None, gt=0, description="Bytes per part (the last may be shorter); default 16 MiB. S3 needs ≥ 5 MiB."
    )


class ChunkedUploadComplete(BaseModel):
    sha256: str = Field(pattern=HEX64, description="The whole file's SHA-256 (hex), checked against the parts.")


class PartRead(ReadModel):
    number: int
    size_bytes: int
    sha256: str


class ChunkedUploadRead(ReadModel):
    id: str = Field(examples=["upl_3f2a9c0b1d4e5f6a7b8c9d0e"])
    kind: Literal["model", "dataset"]
    filename: str
    name: str
    size_bytes: int
    part_size_bytes: int
    part_count: int
    sha256: str | None
    status: Literal["open", "completed", "expired"]
    parts: list[PartRead] = Field(description="The parts stored so far, by number; resume with the missing ones.")
    missing_parts: list[int]
    resource_id: str | None = Field(None, description="The model or dataset made when the upload completed.")
    created_at: datetime
    expires_at: datetime
