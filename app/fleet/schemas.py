"""The fleet as clients see it: hardware classes for every tenant, workers for operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class HardwareClassRead(BaseModel):
    hardware_class: str = Field(examples=["cpu-avx512-vnni"], description="A name for `target.hardware`.")
    live_workers: int = Field(description="Workers of this class beating now (0: jobs for it wait).")
    busy_workers: int = Field(description="Live workers running a job.")
    queued_jobs: int = Field(description="Jobs waiting for this class (every tenant's).")
    running_jobs: int


class HardwareRead(BaseModel):
    classes: list[HardwareClassRead] = Field(description="Every class a worker has ever offered.")
    generic_queues: dict[str, int] = Field(
        description="Live workers per generic queue (`cpu`, `gpu`): jobs without `target.hardware` go there."
    )


class GpuRead(BaseModel):
    name: str
    compute_capability: str | None = None
    memory_bytes: int | None = None
    driver_version: str | None = None
    cuda_version: str | None = None


class WorkerRead(BaseModel):
    id: str = Field(description="The Celery node name (jobs' events name it: `running on <id>`).")
    host: str
    hardware_class: str
    detected_class: str | None = Field(
        None, description="What detection found; differs from `hardware_class` when the operator overrode it."
    )
    queues: list[str]
    concurrency: int
    state: Literal["idle", "busy", "stopped", "lost"]
    current_jobs: list[str]
    started_at: datetime
    heartbeat_at: datetime
    machine: str | None = None
    cpu_model: str | None = None
    cpu_cores: int | None = None
    memory_bytes: int | None = None
    cpu_features: list[str] = Field(default_factory=list, description="The int8-relevant ISA flags present.")
    gpu: GpuRead | None = None
    providers: list[str] = Field(default_factory=list, description="onnxruntime's execution providers.")
    onnxruntime_version: str | None = None
    torch_version: str | None = None
    slimline_version: str | None = None

    @classmethod
    def of(cls, view: dict[str, Any]) -> WorkerRead:
        return cls.model_validate({k: v for k, v in view.items() if k in cls.model_fields})
