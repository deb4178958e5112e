"""Response and request models for models, datasets, jobs and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.recipe import Recipe
from app.schemas.report import Report
from app.schemas.tensors import TensorSpec


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ModelRead(_Read):
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


class DatasetRead(_Read):
    id: str = Field(examples=["ds_3f2a9c0b1d4e5f6a7b8c9d0e"])
    name: str
    size_bytes: int
    sha256: str
    arrays: list[TensorSpec]
    num_samples: int
    has_labels: bool
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime


class JobCreate(Recipe):
    """A job: which model, which data, and the recipe (target, passes, quality limit, split)."""

    model_id: str
    dataset_id: str
    webhook_url: str | None = Field(
        None,
        max_length=2048,
        description="POSTed (signed, see `Slimline-Signature`) when the job ends. Private and loopback "
        "addresses are refused unless the server allows them.",
    )

    def recipe(self) -> Recipe:
        return Recipe.model_validate(self.model_dump(exclude={"model_id", "dataset_id", "webhook_url"}))


class JobError(BaseModel):
    code: str
    message: str


class JobResult(BaseModel):
    model_artifact: str = Field(description="Artifact name of the optimized model, e.g. `model.onnx`.")
    report: Report = Field(description="The report (same content as the `report.json` artifact).")


class JobRead(BaseModel):
    id: str = Field(examples=["job_3f2a9c0b1d4e5f6a7b8c9d0e"])
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    stage: str | None
    progress: float = Field(ge=0.0, le=1.0)
    model_id: str
    dataset_id: str
    recipe: Recipe
    webhook_url: str | None = None
    error: JobError | None
    result: JobResult | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


class EventRead(_Read):
    seq: int
    at: datetime
    type: Literal["state", "stage", "progress", "trial", "warning", "log"]
    message: str
    data: dict[str, Any]


class ArtifactRead(_Read):
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class ApiKeyCreated(BaseModel):
    tenant: str
    key_id: str
    api_key: str = Field(description="Shown once; only its sha256 is stored.")


class WebhookSecret(BaseModel):
    secret: str = Field(description="HMAC-SHA256 key for the `Slimline-Signature` header of this tenant's webhooks.")
