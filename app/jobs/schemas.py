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


class TargetRun(BaseModel):
    """One target of a multi-target job: a child job on one hardware class, with its own result."""

    hardware_class: str
    job_id: str = Field(description="The target's own job: its events, artifacts and report.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    status_reason: str | None = None
    progress: float = Field(ge=0.0, le=1.0)
    error: JobError | None
    result: JobResult | None


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
    status_reason: str | None = Field(
        None,
        description="Why a queued job is not running yet: `waiting_for_hardware` while no live worker can take "
        "it (its class's workers, or the queue's, are all down); null once a worker has it.",
    )
    hardware_class: str | None = Field(
        None, description="The class this job runs on (its recipe's single `target.hardware`); null: any worker."
    )
    parent_id: str | None = Field(None, description="For a target of a multi-target job: that job's id.")
    result: JobResult | None = Field(description="Null until it succeeds; always null for a multi-target job.")
    targets: list[TargetRun] | None = Field(
        None,
        description="A multi-target job (`target.hardware` a list): one run per class, each with its result. "
        "`GET /v1/jobs/{id}/artifacts/comparison.html` compares them side by side.",
    )
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
