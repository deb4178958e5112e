"""Job requests and responses: the job, its events and artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas.common import ReadModel
from app.core.schemas.recipe import Recipe
from app.core.schemas.report import Report


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


class EventRead(ReadModel):
    seq: int
    at: datetime
    type: Literal["state", "stage", "progress", "trial", "warning", "log"]
    message: str
    data: dict[str, Any]


class ArtifactRead(ReadModel):
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
