"""The job report (``report.json``), versioned by ``schema_version``. Pure pydantic."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2  # 2: every output judged (per_output, verdict), speedup intervals, timing conditions


class Fidelity(BaseModel):
    """Agreement of the first output with the original model's (every output, judged, is in ``per_output``)."""

    top1_agreement: float | None = Field(description="Same arg-max class; null for non-classifier outputs.")
    cosine_mean: float | None = Field(
        description="Per-sample cosine similarity; null for small (<= 8 values) and integer outputs, where it "
        "means nothing (the cosine of one value is always 1)."
    )
    cosine_min: float | None
    max_abs_error: float


OutputKindName = Literal["classifier", "small", "dense", "integer", "language_model"]


class OutputQuality(BaseModel):
    """One output, judged with the metric that fits its kind (see the recipe's `quality`)."""

    name: str
    kind: OutputKindName
    metrics: dict[str, float | None] = Field(
        description="classifier: top1_agreement (accuracy, f1_macro, accuracy_drop with labels), cosine; small: "
        "normalized_rmse (RMSE across samples over the baseline's std), rmse, max_abs_error, pearson, "
        "decision_agreement (values in [0, 1]); dense: cosine_mean, cosine_min, snr_db, max_abs_error; "
        "integer: exact_match, sample_exact_match; language_model (a language model's logits): "
        "next_token_agreement, perplexity_baseline, perplexity, perplexity_increase, continuation_agreement, "
        "continuation_prefix_agreement, continuation_prompts, max_log_prob_error; non_finite when values became "
        "NaN or Inf."
    )
    limits: dict[str, float] = Field(description="The limit applied to each judged metric.")
    within: bool
    gap: float = Field(description="How far beyond its limit the worst metric is, in its own units (<= 0: within).")
    why: str
    ignored: bool = False


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
    per_output: list[OutputQuality] = Field(default_factory=list)
    latency_ms_rounds: list[list[float]] | None = Field(
        None,
        description="Every timed run in ms, round by round ([round][run]): the interleaved rounds the speedup "
        "interval resamples (the latency distribution). Absent in reports written before it.",
    )


class DataSplitReport(BaseModel):
    calibration_samples: int
    evaluation_samples: int
    seed: int
    evaluation_sequences: int | None = Field(None, description="Ordered sequences judged by rollout (stateful).")


class OutputJudged(BaseModel):
    name: str
    kind: OutputKindName
    labelled: bool = Field(description="The dataset's labels are judged on this output (accuracy).")
    ignored: bool


class Verdict(BaseModel):
    """Is the optimized model within the quality limit on every output? The worst output decides."""

    within: bool
    decided_by: str | None = Field(description="The output closest to (or furthest beyond) its limit.")
    why: str
    judged_by: Literal["samples", "rollout"] = Field(
        description="`rollout`: a stateful model, each variant carrying its own state through ordered sequences."
    )
    state: dict[str, str] = Field(description="State pairs, input -> output (empty for a stateless model).")
    sequences: int | None
    steps: int = Field(description="Samples (steps of the rollout) judged.")
    outputs: list[OutputJudged]


class SpeedupInterval(BaseModel):
    """Bootstrap confidence interval of the speedup, over interleaved timing rounds."""

    low: float
    high: float
    confidence: float


class Ratio(BaseModel):
    """A ratio of two timings (baseline / optimized) with its bootstrap interval over interleaved rounds."""

    value: float
    low: float
    high: float
    confidence: float


class TokenLatency(BaseModel):
    """One model's batch-1 latency as a language model: the prompt's prefill, then token-by-token decoding."""

    prompt_length: int
    decode_tokens: int = Field(description="Tokens decoded per timed run (one at a time).")
    kv_cache: bool = Field(description="Decoded through the KV cache; else each step runs the whole sequence.")
    prefill_ms_p50: float
    decode_ms_per_token_p50: float
    decode_tokens_per_s: float = Field(description="decode_tokens / the median run's time.")


class EncoderLatency(BaseModel):
    """Batch-1 latency of a token encoder at one sequence length."""

    sequence_length: int
    baseline_ms_p50: float
    optimized_ms_p50: float
    speedup: Ratio | None = Field(description="baseline / optimized p50; exactly 1 when the result is the input.")


class LanguageModelReport(BaseModel):
    """A token model, judged and timed on tokens (worker/engine/lm_eval)."""

    kind: Literal["decoder", "encoder"] = Field(
        description="`decoder`: judged on next tokens, perplexity and greedy continuation, timed by prefill and "
        "decode; `encoder`: token ids in, no vocabulary out (judged per output as usual), timed per length."
    )
    input_ids: str
    logits: str | None
    vocab_size: int | None
    attention_mask: str | None
    kv_cache: bool
    cache_pairs: int
    sequences: int = Field(description="Evaluation sequences.")
    tokens_per_sequence: int | None = None
    prompt_length: int | None = None
    continuation_tokens: int | None = None
    prompts: int | None = Field(None, description="Sequences whose prompt was continued greedily.")
    next_token_agreement: float | None
    perplexity_baseline: float | None
    perplexity_optimized: float | None
    perplexity_increase: float | None = Field(description="perplexity_optimized / perplexity_baseline - 1.")
    continuation_agreement: float | None = Field(description="Share of generated tokens equal, position by position.")
    continuation_prefix_agreement: float | None = Field(
        description="Mean share of each continuation generated before the first different token."
    )
    baseline_latency: TokenLatency | None
    optimized_latency: TokenLatency | None
    prefill_speedup: Ratio | None
    decode_speedup: Ratio | None
    encoder_latency: list[EncoderLatency] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class TimingConditions(BaseModel):
    """How the machine behaved while the baseline and the result were timed."""

    noisy: bool
    reasons: list[str]
    steal_percent: float | None
    load_average: float | None
    cpus: int
    widest_interval: float = Field(description="Widest speedup interval, as a fraction of its ratio.")
    rounds: int
    runs_per_round: int


class SkippedCandidate(BaseModel):
    candidate: str = Field(description="The kind of candidate, e.g. `fp16`, `dynamic int8`.")
    reason: str


class Preflight(BaseModel):
    """What the hardware favours, decided before any candidate is built (worker/engine/preflight.py)."""

    notes: list[str] = Field(
        default_factory=list,
        description="What the hardware favours, in words (e.g. no int8 dot-product instructions: static int8 last).",
    )
    order: list[str] = Field(
        default_factory=list,
        description="The candidate kinds `quantize: auto` builds, checks and lists, first first, and in which "
        "tuning runs them as its first trials: `fp32`, `static`, `static-float-stem`, `dynamic`, `fp16`.",
    )
    skipped: list[SkippedCandidate] = Field(
        default_factory=list,
        description="Candidates `quantize: auto` does not measure on this graph and hardware, and why; a recipe "
        "that names the mode measures them anyway.",
    )


class Environment(BaseModel):
    device: str
    providers: list[str] = Field(description="The onnxruntime execution providers every model was measured with.")
    threads: int
    batch_size: int
    hardware_class: str = Field(
        default="",
        description="The hardware class of the worker that ran the job (`cpu-avx2`, `cpu-avx512-vnni`, "
        "`cuda-sm90`…; docs/deploy.md); empty in reports written before it was recorded.",
    )
    cpu: str = Field(description="The CPU's model name.")
    cpu_flags: list[str] = Field(
        default_factory=list,
        description="The CPU's int8-relevant features (avx2, avx512f, avx512_vnni, avx_vnni, amx_int8, asimddp…): "
        "int8 speed and exactness depend on them.",
    )
    preflight: Preflight = Field(
        default_factory=Preflight, description="What the hardware favours and how the candidates were ordered."
    )
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


class ClassMetrics(BaseModel):
    """One class on the evaluation split."""

    class_id: int
    name: str = Field(description="From the dataset's `label_names`, else the class id.")
    precision: float
    recall: float
    f1: float
    support: int = Field(description="Evaluation samples of this class.")


class TaskScores(BaseModel):
    """A model's task metrics on the evaluation split: classification or (after a regression transfer) regression."""

    task: Literal["classification", "regression"]
    samples: int
    accuracy: float | None = None
    f1_macro: float | None = None
    per_class: list[ClassMetrics] = Field(default_factory=list)
    confusion: list[list[int]] = Field(
        default_factory=list, description="confusion[i][j]: samples of class i predicted as class j."
    )
    mse: float | None = None
    mae: float | None = None
    r2: float | None = None


class TaskMetrics(BaseModel):
    """Per-class (or regression) metrics of the baseline and the result, with labels."""

    output: str = Field(description="The output the labels are judged on.")
    label_names: list[str] | None = None
    baseline: TaskScores
    optimized: TaskScores


class MemoryUse(BaseModel):
    """The job's memory: the pre-flight's estimate (worker/engine/memory.py), the limit, and the measured peak."""

    estimate_bytes: int = Field(description="Estimated peak resident memory, checked before the model was loaded.")
    weights_bytes: int
    outputs_bytes: int = Field(0, description="One variant's outputs over the evaluation split (float32).")
    dataset_bytes: int
    runtime_bytes: int
    weight_copies: float = Field(
        description="Weight-sized copies the recipe's passes hold at once (the estimate's factor)."
    )
    limit_bytes: int | None = Field(
        None, description="The worker's per-job limit; null when the engine ran without one."
    )
    peak_rss_bytes: int | None = Field(
        None, description="The job process's measured peak resident memory (its tree's); null outside a worker."
    )


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    baseline: Measurement
    optimized: Measurement
    speedup: float = Field(description="baseline p50 latency / optimized p50 latency; exactly 1.0 when unchanged.")
    speedup_interval: SpeedupInterval
    size_ratio: float = Field(description="optimized size / baseline size.")
    accuracy_drop: float | None = Field(description="Top-1 accuracy points lost (0.01 = 1 point); null without labels.")
    goal_met: bool
    quality_limit: dict[str, Any]
    verdict: Verdict
    timing: TimingConditions
    passes: list[dict[str, Any]]
    warnings: list[str]
    split: DataSplitReport
    environment: Environment
    unchanged: bool = Field(description="True when the optimized model is the input, unchanged.")
    tuning: Tuning | None = Field(None, description="For a job with a `tune` block: the study, trial by trial.")
    task_metrics: TaskMetrics | None = Field(
        None, description="With labels: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix."
    )
    language_model: LanguageModelReport | None = Field(
        None,
        description="For a model with integer `input_ids`: token-level quality (a language model) and latency "
        "(prefill and decode at batch 1; an encoder per sequence length).",
    )
    baseline_model: Literal["input", "transferred"] = Field(
        "input",
        description="What `baseline` measures: the uploaded model, or (after a `transfer` pass) the transferred "
        "model, since the original's outputs mean other classes; the transfer pass's entry in `passes` compares "
        "it with the probe (and scratch) baselines.",
    )
    memory: MemoryUse | None = Field(None, description="The job's memory: estimate, limit and measured peak.")
