"""The job report (``report.json``), versioned by ``schema_version``. Pure pydantic."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Fidelity(BaseModel):
    """Agreement with the original model's outputs (first output; per output in ``per_output``)."""

    top1_agreement: float | None = Field(description="Same arg-max class; null for non-classifier outputs.")
    cosine_mean: float
    cosine_min: float
    max_abs_error: float


class Accuracy(BaseModel):
    top1: float
    f1_macro: float
    loss: float | None


class Measurement(BaseModel):
    """One model, measured on this machine in this job."""

    size_bytes: int
    parameter_count: int
    sparsity: float = Field(ge=0.0, le=1.0)
    latency_ms_p50: float
    latency_ms_p95: float
    throughput_per_s: float
    accuracy: Accuracy | None = None
    fidelity: Fidelity
    per_output: list[dict[str, Any]] = Field(default_factory=list)


class DataSplitReport(BaseModel):
    calibration_samples: int
    evaluation_samples: int
    seed: int


class Environment(BaseModel):
    device: str
    providers: list[str]
    threads: int
    batch_size: int
    cpu: str
    latency_runs: int
    libraries: dict[str, str]


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    baseline: Measurement
    optimized: Measurement
    speedup: float = Field(description="baseline p50 latency / optimized p50 latency.")
    size_ratio: float = Field(description="optimized size / baseline size.")
    accuracy_drop: float | None = Field(description="Top-1 accuracy points lost (0.01 = 1 point); null without labels.")
    goal_met: bool
    quality_limit: dict[str, Any]
    passes: list[dict[str, Any]]
    warnings: list[str]
    split: DataSplitReport
    environment: Environment
    unchanged: bool = Field(description="True when the optimized model is the input, unchanged.")
