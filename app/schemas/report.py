"""The job report (``report.json``), versioned by ``schema_version``. Pure pydantic."""

from __future__ import annotations

from typing import Any, Literal

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


class TuningTrial(BaseModel):
    """One trial of the tuning study: the options it tried and what was measured."""

    number: int
    phase: str = Field(description="`reference` (the passes as written), `greedy` (float-node fallback) or `search`.")
    state: Literal["complete", "failed", "duplicate", "interrupted"]
    params: dict[str, Any]
    score: float | None = Field(description="The objective as a gain over the input (speedup, size reduction…).")
    metrics: dict[str, Any] | None = Field(description="Measured quality, latency, size; null when it failed.")
    float_nodes: list[str] = Field(description="Nodes this trial kept in float because of their sensitivity.")
    duplicate_of: int | None = None
    error: str | None = None
    summary: str


class ParetoPoint(BaseModel):
    number: int
    score: float
    quality_loss: float = Field(description="Accuracy points lost, else 1 - top-1 agreement, else 1 - cosine.")
    within_limit: bool
    params: dict[str, Any]


class SensitivityEntry(BaseModel):
    """What quantizing only these nodes costs, measured on the evaluation split."""

    rank: int
    nodes: list[str]
    op_types: list[str]
    fidelity_loss: float = Field(description="1 - mean cosine similarity to the original model.")
    accuracy_drop: float | None
    top1_agreement: float | None
    limit_gap: float = Field(description="How far beyond the quality limit this alone goes (<= 0: within).")
    quality: str


class Tuning(BaseModel):
    objective: Literal["latency", "size", "throughput"]
    sampler: str
    seed: int
    trials_requested: int
    trials_evaluated: int = Field(description="Distinct candidates built and measured, earlier attempts included.")
    resumed_trials: int = Field(description="Trials found finished in the study when this attempt started.")
    stopped: str = Field(description="Why the search ended: `trials`, `timeout`, `grid exhausted`, …")
    elapsed_s: float
    study_name: str
    storage: Literal["database", "memory"]
    limit: dict[str, Any]
    trials: list[TuningTrial]
    pareto: list[ParetoPoint]
    best_trial: int | None
    goal_met: bool
    shortfall: str | None = Field(description="When no candidate met the limit: the closest one's miss, in words.")
    sensitivity: list[SensitivityEntry]


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
    tuning: Tuning | None = Field(None, description="For a job with a `tune` block: the study, trial by trial.")
