"""The optimization recipe: one pydantic model used by the API, the worker and the SDK.

Pass configs form a discriminated union on ``type``, so the OpenAPI document lists every
pass and its options. ``AnyPass`` is the one list of passes: the union and ``PASS_CONFIGS`` come
from it, and the engine's registry (``worker/engine/passes/__init__.py``) finds each ``type``'s
package from ``PASS_CONFIGS``.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take 32-bit seeds
MAX_TARGETS = 8
HardwareClass = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,47}$", examples=["cpu-avx512-vnni"])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Target(_Strict):
    """Where the optimized model will run; latency is measured there."""

    device: Literal["cpu", "cuda"] = "cpu"
    batch_size: int = Field(1, ge=1, le=1024, description="Batch size used to measure latency.")
    hardware: HardwareClass | list[HardwareClass] | None = Field(
        None,
        description="The hardware class the job must run and be measured on (`GET /v1/hardware` lists them; "
        "docs/deploy.md has the mapping: `cpu-avx2`, `cpu-avx512-vnni`, `cpu-amx`, `cuda-sm90`, ...). The job "
        "never runs on another class; while no worker of the class is live it waits queued with "
        "`status_reason: waiting_for_hardware`. A list runs the job once per class (a child job each, with its "
        "own artifacts and verdict) and compares them. Unset: any worker of the device's queue.",
    )

    @field_validator("hardware")
    @classmethod
    def _distinct_classes(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one hardware class, or leave `hardware` unset")
            if len(value) > MAX_TARGETS:
                raise ValueError(f"at most {MAX_TARGETS} hardware classes per job")
            if len(set(value)) != len(value):
                raise ValueError("each hardware class may appear once")
        return value

    @model_validator(mode="after")
    def _class_fits_device(self) -> Target:
        for name in self.hardware_classes():
            if name.startswith("cuda-") and self.device != "cuda":
                raise ValueError(f"hardware class {name!r} is a GPU class: set `device: cuda` to run on it")
            if name.startswith("cpu-") and self.device != "cpu":
                raise ValueError(f"hardware class {name!r} is a CPU class: a `cuda` target cannot run on it")
        return self

    def hardware_classes(self) -> list[str]:
        """The classes the job targets, as a list (empty: anywhere)."""
        if self.hardware is None:
            return []
        return [self.hardware] if isinstance(self.hardware, str) else list(self.hardware)


class QuantizePass(_Strict):
    """Quantize with onnxruntime: int8 dynamic, int8 static (QDQ), fp16, or ``auto`` (measure and pick)."""

    type: Literal["quantize"] = "quantize"
    mode: Literal["auto", "dynamic", "static", "fp16"] = Field(
        "auto",
        description="`auto` measures every candidate that fits the model on the target (including the "
        "fp32 graph optimized offline) and keeps the fastest that stays within the quality limit.",
    )
    per_channel: bool = Field(True, description="Per-channel weight scales (static and dynamic).")
    reduce_range: bool | None = Field(
        None,
        description="7-bit weights. Unset: on where the worker's CPU is x86 without int8 dot-product "
        "instructions (no VNNI/AMX), whose int8 kernels can saturate with 8-bit weights (onnxruntime's advice); "
        "off elsewhere. The report says which was used.",
    )
    weight_type: Literal["int8", "uint8"] = "int8"
    activation_type: Literal["int8", "uint8"] = Field("uint8", description="Static mode only.")
    symmetric_weights: bool = True
    symmetric_activations: bool = False
    calibration: Literal["minmax", "entropy", "percentile"] = "minmax"
    percentile: float = Field(99.999, gt=90.0, le=100.0, description="For `calibration: percentile`.")
    calibration_samples: int = Field(128, ge=1, le=100_000, description="Samples used to calibrate (static).")
    nodes_to_exclude: list[str] = Field(default_factory=list, description="Node names kept in float.")
    op_types_to_quantize: list[str] | None = Field(
        None, description='Restrict quantization to these op types (e.g. ["Conv", "MatMul"]).'
    )
    keep_io_types: bool = Field(True, description="fp16 mode: keep float32 model inputs and outputs.")
    model_type: Literal["auto", "bert", "gpt2", "none"] = Field(
        "auto",
        description="`auto` mode: transformer graph fusion (onnxruntime's transformers optimizer: Attention, "
        "SkipLayerNormalization, BiasGelu/FastGelu, EmbedLayerNormalization) adds fused candidates (fused fp32, "
        "fused + dynamic int8, fused + static int8, and fused + fp16 for a cuda target), measured and judged like "
        "the others. `auto`: fuse when the graph shows attention (MatMul, Softmax, MatMul), layer normalization "
        "and token embeddings read from an integer input; a causal mask makes it a decoder (`gpt2`), else an "
        "encoder (`bert`). `bert` / `gpt2`: fuse as that type even where the graph does not show it (e.g. a "
        "vision transformer has no token embeddings). `none`: no fusion.",
    )
    num_heads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Attention heads, for fusion. Unset: read from the graph (the attention's head size and the "
        "hidden size); where the graph does not show them, left to onnxruntime.",
    )
    hidden_size: int | None = Field(
        None,
        ge=1,
        le=1 << 20,
        description="Hidden size, for fusion. Unset: the token embedding table's width (else the layer "
        "normalization's).",
    )


class FineTune(_Strict):
    """Recovery training after pruning, on the calibration split (never the evaluation split)."""

    epochs: int | Literal["auto"] = Field(
        "auto",
        description="Passes over the training data. `auto`: a validation part (a fifth of the calibration split, "
        "seeded; never the evaluation split) is held out and judged after every epoch like the job's result "
        "(accuracy drop with labels, else fidelity to the unpruned model); training stops when the quality limit "
        "holds there with a margin and `patience` epochs bring no improvement, when `patience` epochs bring no "
        "improvement and it does not hold (the report suggests removing less), or at `max_epochs` or "
        "`max_seconds`; the best epoch's weights are kept. A number: exactly that many epochs on the whole "
        "calibration split, no validation.",
    )
    max_epochs: int = Field(60, ge=1, le=1000, description="With `epochs: auto`: the most epochs trained.")
    patience: int = Field(
        5, ge=1, le=100, description="With `epochs: auto`: epochs without improvement on validation before stopping."
    )
    max_seconds: float | None = Field(
        None,
        gt=0.0,
        description="With `epochs: auto`: the training time budget; no epoch starts that would end past it. "
        "Unset: half the job's time limit (SLIMLINE_JOB_SOFT_TIME_LIMIT_S, 3600 s by default).",
    )
    lr: float = Field(1e-3, gt=0.0, le=1.0, description="Adam learning rate (the peak, with `schedule: cosine`).")
    schedule: Literal["auto", "cosine", "constant", "plateau"] = Field(
        "auto",
        description="Learning-rate schedule: `cosine` decays `lr` to zero over all the steps (the usual choice "
        "for recovery training: large steps first, then settling; needs a known number of epochs), `constant` "
        "keeps `lr`, `plateau` halves it after two epochs without improvement on validation (`epochs: auto` "
        "only). `auto`: cosine for a number of epochs, plateau for `epochs: auto`.",
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Training batch size.")
    distill: bool = Field(
        False,
        description="Also learn from the unpruned model's outputs (KL divergence on classifier logits, mean "
        "squared error on other outputs). With labels the loss is cross-entropy on the first output, plus "
        "distillation when this is true; a dataset without labels is always distilled.",
    )
    temperature: float = Field(2.0, gt=0.0, le=100.0, description="Softmax temperature for distillation on logits.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where the training runs (PyTorch). `auto`: on the GPU when the target is `cuda` and the "
        "worker's PyTorch sees one, else on the CPU. `cuda`: on a GPU whatever the target (a model for CPU "
        "deployment fine-tuned on a GPU worker); the job goes to the `gpu` queue and fails with `no_gpu` on a "
        "worker without one. `cpu`: always on the CPU. Latency and quality are still measured on the target.",
    )

    @model_validator(mode="after")
    def _schedule_fits_epochs(self) -> FineTune:
        if self.epochs == "auto" and self.schedule == "cosine":
            raise ValueError("schedule cosine needs a number of epochs; with epochs auto use plateau or constant")
        if self.epochs != "auto" and self.schedule == "plateau":
            raise ValueError("schedule plateau needs epochs auto (it reads the validation part)")
        return self

    @property
    def resolved_schedule(self) -> Literal["cosine", "constant", "plateau"]:
        """The schedule ``auto`` stands for: cosine for a number of epochs, plateau for ``epochs: auto``."""
        if self.schedule != "auto":
            return self.schedule
        return "plateau" if self.epochs == "auto" else "cosine"


class PrunePass(_Strict):
    """Prune weights: structured (remove channels and neurons; the graph shrinks, so it can run faster) or
    unstructured (zero individual weights; smaller once compressed, no faster on dense runtimes)."""

    type: Literal["prune"] = "prune"
    method: Literal["structured", "unstructured"] = Field(
        "structured",
        description="`structured` removes whole output channels of Conv layers and neurons of Linear "
        "(Gemm/MatMul) layers with Torch-Pruning's dependency graph (batch norm, residual additions and the "
        "layers that consume them are shrunk together) and exports a smaller ONNX graph. `unstructured` "
        "sets the smallest-magnitude weights to zero in place; dense runtimes get no speedup from it.",
    )
    sparsity: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="Fraction to remove: of the output channels/neurons of each prunable layer (structured; "
        "parameters shrink by more, since the next layer loses inputs too) or of the weights (unstructured).",
    )
    scope: Literal["global", "per_layer"] = Field(
        "per_layer",
        description="`per_layer` removes the same fraction from every prunable layer; `global` ranks all "
        "channels (or weights) of the model together, so layers that matter less lose more.",
    )
    importance: Literal["l1", "l2", "taylor"] = Field(
        "l2",
        description="How a channel's or weight's importance is scored: L1 or L2 weight magnitude, or `taylor` "
        "(|weight × gradient| on calibration batches; uses labels, or the original model's predictions when "
        "there are none). Unstructured pruning scores by magnitude (l1 and l2 rank weights identically).",
    )
    exclude_first_last: bool = Field(
        True,
        description="Keep the first and the last weight layer whole (they are the most sensitive; the last "
        "one's width is the model output's).",
    )
    nodes_to_exclude: list[str] = Field(
        default_factory=list,
        description="ONNX node names whose weights are not pruned (structured: whose output channels are kept).",
    )
    attention_heads: bool = Field(
        True,
        description="Structured: also remove whole attention heads (the same `sparsity` of each attention "
        "block's heads, ranked by the magnitude of their q/k/v and output-projection weights). The "
        "projections, the layer that reads the merged heads and the head count in Reshape targets shrink "
        "together; the rewrite is checked against the original with those heads zeroed.",
    )
    finetune: FineTune | None = Field(
        None,
        description="Optional recovery training after pruning (PyTorch; on CUDA for a cuda target when the "
        "worker has a GPU, or wherever `finetune.device` says).",
    )


class TransferPass(_Strict):
    """Teach a pretrained model the dataset's classes: a new head on its features, trained on the labels.

    The feature tensor is the input of the final classifier layer (the last Gemm/MatMul before any Softmax),
    or the tensor `feature` names. The head is replaced with a linear layer for the labels' K classes (K may
    differ from the model's outputs) and trained on the calibration split; the evaluation split judges it.
    Later passes in the same recipe (prune, quantize) compress the transferred model, and their quality limit
    is judged against it (the original model's outputs mean other classes).
    """

    type: Literal["transfer"] = "transfer"
    mode: Literal["probe", "finetune"] = Field(
        "finetune",
        description="`probe`: only the new head trains (the backbone frozen; its features are computed once "
        "with onnxruntime). `finetune`: a fresh head and the last `blocks` weight layers of the backbone train "
        "together (the backbone at `backbone_lr`); the probe is still measured, as its baseline.",
    )
    task: Literal["classification", "regression"] = Field(
        "classification",
        description="`classification`: integer labels 0..K-1, cross-entropy, accuracy/F1. `regression`: float "
        "labels (one value, or a row of K values per sample), mean squared error, MAE and R².",
    )
    feature: str | None = Field(
        None,
        description="The tensor the new head reads. Unset: the input of the final classifier Gemm/MatMul.",
    )
    blocks: Annotated[int, Field(ge=1, le=10_000)] | Literal["all"] = Field(
        "all",
        description="`finetune`: how many of the backbone's last weight layers (Conv/Gemm/MatMul, with the "
        "normalization layers after them) train besides the head; `all`: the whole backbone.",
    )
    epochs: int | Literal["auto"] = Field(
        "auto",
        description="`finetune` (and `compare_scratch`): passes over the training data. `auto`: a fifth of the "
        "calibration split (seeded; never the evaluation split; only when that is 50 samples or more, else every "
        "sample trains until the training loss stops improving) is held out and scored after every epoch "
        "(accuracy, ties broken by loss; mean squared error for regression) until `patience` epochs bring no "
        "improvement, or `max_epochs` or `max_seconds`; then the model trains again from its starting weights "
        "on the whole calibration split for the best epoch count. A number: exactly that many epochs on the "
        "whole calibration split.",
    )
    max_epochs: int = Field(100, ge=1, le=1000, description="With `epochs: auto`: the most epochs trained.")
    patience: int = Field(
        10, ge=1, le=200, description="With `epochs: auto`: epochs without improvement on validation before stopping."
    )
    max_seconds: float | None = Field(
        None, gt=0.0, description="With `epochs: auto`: the time budget of each training run (unset: none)."
    )
    lr: float = Field(3e-3, gt=0.0, le=1.0, description="Adam learning rate of the head (fine-tuning, scratch).")
    backbone_lr: float | None = Field(
        None, gt=0.0, le=1.0, description="Adam learning rate of the backbone's trained layers. Unset: `lr` / 3."
    )
    weight_decay: float = Field(1e-4, ge=0.0, le=1.0, description="L2 penalty (the probe's and the optimizers').")
    batch_size: int = Field(32, ge=1, le=4096, description="Training batch size.")
    compare_scratch: bool = Field(
        False,
        description="Also train the same architecture from random weights on the same data, for as long, and "
        "report which won and by how much.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where training runs, as for `finetune.device`: `auto` (the GPU for a cuda target when "
        "the worker's PyTorch sees one), `cpu`, or `cuda` (a GPU or the `no_gpu` error).",
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seeds the head's initialisation and the batch order.")


class WeightOnlyPass(_Strict):
    """Weight-only quantization of MatMul weights to int4 or int8 blocks (onnxruntime's MatMulNBits), for
    transformers and language models: activations stay in float, weights shrink 4-8×; batch and sequence axes
    stay dynamic. Gemm layers with constant weights (GPT-2's Conv1D, many exporters' Linear) are rewritten as
    MatMul (+ Add) first so they are quantized too."""

    type: Literal["weight_only"] = "weight_only"
    mode: Literal["options", "auto"] = Field(
        "options",
        description="`options`: quantize once with the options below. `auto`: build every combination that fits "
        "the model and the target (bits 4 and 8 × block sizes 32/64/128 no wider than the weights × accuracy "
        "levels 1 and 4 on cpu, 0 on cuda; `algorithm`, `symmetric`, `quantize_embeddings` and `quantize_lm_head` "
        "as written), judge each against the quality limit, time each against the input in interleaved rounds "
        "and keep the fastest that is within the limit and measurably faster; else the input comes back "
        "unchanged with the reason.",
    )
    algorithm: Literal["rtn", "hqq", "gptq"] = Field(
        "rtn",
        description="`rtn`: round-to-nearest per block (onnxruntime's default MatMulNBits quantizer; 4 or 8 "
        "bits). `hqq`: half-quadratic optimisation of scales and zero points (4 bits, no embeddings). `gptq`: "
        "error-compensating quantization on the calibration split (4 bits, no embeddings; slower to build).",
    )
    bits: Literal[4, 8] = Field(4, description="Bits per weight.")
    block_size: Literal[32, 64, 128] = Field(
        32, description="Weights per quantization block (along the input dimension); smaller is more faithful."
    )
    symmetric: bool = Field(False, description="Symmetric blocks (no zero points); asymmetric is more faithful.")
    accuracy_level: Literal[0, 1, 4] = Field(
        4,
        description="The MatMulNBits compute type: 0 unset (fp32 on cpu), 1 fp32, 4 int8 activations (fastest on "
        "CPUs with int8 dot-product instructions; ignored on cuda).",
    )
    quantize_embeddings: bool = Field(
        False,
        description="Also quantize token-embedding Gather tables to 4 bits (GatherBlockQuantized; the model is "
        "converted to opset 21). Only with `algorithm: rtn` and 4 bits (auto: in its 4-bit candidates).",
    )
    quantize_lm_head: bool = Field(
        True,
        description="Also quantize the last MatMul of the graph (a language model's head onto the vocabulary; "
        "the most sensitive layer, and often the largest).",
    )

    @model_validator(mode="after")
    def _options_fit(self) -> WeightOnlyPass:
        if self.algorithm != "rtn" and self.bits != 4:
            raise ValueError(f"algorithm {self.algorithm} quantizes to 4 bits only")
        if self.quantize_embeddings and self.algorithm != "rtn":
            raise ValueError("quantize_embeddings needs algorithm rtn")
        if self.quantize_embeddings and self.bits != 4 and self.mode == "options":
            raise ValueError("quantize_embeddings needs bits 4 (GatherBlockQuantized is 4-bit only)")
        return self


# The one list of passes. Adding a pass: its config class here, a package worker/engine/passes/<type>/
# with ``run`` and ``space``, and tests; the API, the SDK and the engine's registry follow from it.
AnyPass = QuantizePass | PrunePass | TransferPass | WeightOnlyPass
PASS_CONFIGS: tuple[type[BaseModel], ...] = get_args(AnyPass)
PassConfig = Annotated[AnyPass, Field(discriminator="type")]


OutputKind = Literal["auto", "classifier", "small", "dense", "integer"]


class OutputLimit(_Strict):
    """The quality limit of one named output: how it is judged, and limits that replace the defaults."""

    kind: OutputKind = Field(
        "auto",
        description="How the output is judged: `classifier` (top-1 agreement; accuracy with labels), `small` "
        "(≤ 8 values per sample: error across samples, decision agreement for [0, 1] values), `dense` "
        "(per-sample cosine, SNR), `integer` (exact match). `auto`: from the output's dtype, shape and values.",
    )
    ignore: bool = Field(False, description="Do not judge this output at all (it is still reported).")
    min_top1_agreement: float | None = Field(None, ge=0.0, le=1.0)
    min_cosine: float | None = Field(None, ge=-1.0, le=1.0)
    max_normalized_rmse: float | None = Field(None, ge=0.0)
    min_decision_agreement: float | None = Field(None, ge=0.0, le=1.0)
    decision_threshold: float | None = Field(None)
    min_exact_match: float | None = Field(None, ge=0.0, le=1.0)


class QualityLimit(_Strict):
    """How much worse the optimized model may be than the original, judged on every output.

    Each output is judged with the metric that fits its kind, and the worst output decides: accuracy drop
    for the classifier output the labels belong to; top-1 agreement for other classifier outputs; for small
    per-sample outputs (scores, probabilities, regressions) the error across samples (RMSE over the
    baseline's spread) and, for values in [0, 1], agreement of the decision at `decision_threshold`;
    per-sample cosine for dense outputs; exact match for integer and bool outputs. `outputs` sets the kind
    or a limit per output, or ignores one. A language model's logits (see `evaluation.task`) are judged on
    tokens: next-token agreement and the perplexity increase (and greedy continuation, when its limit is set).
    """

    max_accuracy_drop: float = Field(
        0.01, ge=0.0, le=1.0, description="Largest accuracy loss accepted (0.01 = 1 point; see `relative`)."
    )
    relative: bool = Field(
        False, description="Read `max_accuracy_drop` as a fraction of the baseline accuracy (0.01 = 1 % of it)."
    )
    min_top1_agreement: float = Field(0.99, ge=0.0, le=1.0, description="Classifier outputs without labels.")
    min_cosine: float = Field(0.99, ge=-1.0, le=1.0, description="Dense outputs: least mean per-sample cosine.")
    max_normalized_rmse: float = Field(
        0.1, ge=0.0, description="Small outputs: largest RMSE across samples, over the baseline's spread (std)."
    )
    min_decision_agreement: float = Field(
        0.99, ge=0.0, le=1.0, description="Small outputs with values in [0, 1]: same side of `decision_threshold`."
    )
    decision_threshold: float = Field(0.5, description="Small outputs with values in [0, 1]: the decision threshold.")
    min_exact_match: float = Field(0.99, ge=0.0, le=1.0, description="Integer and bool outputs: equal elements.")
    min_next_token_agreement: float = Field(
        0.95,
        ge=0.0,
        le=1.0,
        description="Language models: the least share of real (unmasked) positions where the optimized model's "
        "most likely next token is the original's.",
    )
    max_perplexity_increase: float = Field(
        0.05,
        ge=0.0,
        description="Language models: the largest relative rise of perplexity on the dataset's own next tokens "
        "(0.05 = +5 %).",
    )
    min_continuation_agreement: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Language models: the least share of greedily generated tokens equal to the original's, "
        "position by position (`evaluation.continuation_tokens` from each prompt). Unset: reported, not judged "
        "(one early difference changes every token after it).",
    )
    outputs: dict[str, OutputLimit] = Field(
        default_factory=dict,
        description="Per output name: its kind, limits that replace the defaults above, or `ignore`.",
    )


class Evaluation(_Strict):
    """How the original and the optimized model are run for the verdict."""

    state: dict[str, str] | None = Field(
        None,
        description='Recurrent state pairs, model input -> model output (e.g. `{"state": "stateN"}`). '
        "A stateful model is judged by rollout: each variant carries its own state from its own previous "
        "step through ordered sequences (the dataset's optional `sequence_id` array marks them; without it "
        "the data is one sequence in order). Unset: pairs are detected (an output with the input's dtype "
        "and shape, named like `state`/`stateN`, `h`/`hn`, `c`/`cn`, `past_key_values.*`/`present.*`). "
        "`{}`: no state, every sample is judged on its own. A language model's KV cache "
        "(`past_key_values.*` -> `present.*`) is not judged by rollout: it is decoded (see `task`).",
    )
    task: Literal["auto", "language_model", "other"] = Field(
        "auto",
        description="`language_model`: the model is judged on tokens (next-token agreement, perplexity, greedy "
        "continuation; `quality.min_next_token_agreement`, `quality.max_perplexity_increase`) and timed by "
        "prefill and decode. The dataset holds `input_ids` [sequences, tokens] (and `attention_mask` when the "
        "model takes one, 1 = a real token), never arrays for a KV cache's `past_key_values.*` inputs: an empty "
        "past is fed, then each model's own `present.*`. `auto`: a language model when it has an integer "
        "`input_ids` input and a [batch, sequence, vocabulary] float output (`logits`, or the only such output) "
        "and `state` is unset; a model with `input_ids` but no such output (an encoder) is judged as usual and "
        "timed per sequence length (16, 64, 256 where they fit). `other`: never.",
    )
    prompt_length: int = Field(
        8,
        ge=1,
        le=65_536,
        description="Language models: the prompt for greedy continuation, the first tokens of an evaluation "
        "sequence (and the prompt whose prefill is timed). Cut to fit the dataset's sequences.",
    )
    continuation_tokens: int = Field(
        16,
        ge=0,
        le=4096,
        description="Language models: tokens each model generates greedily from every prompt (0: none), compared "
        "position by position; also the tokens timed when decoding. A prompt and its continuation stay within "
        "the dataset's sequence length (the longest the model is known to take).",
    )
    continuation_prompts: int = Field(
        32,
        ge=1,
        le=100_000,
        description="Language models: at most this many evaluation sequences prompt a continuation (the first "
        "ones whose prompt is all real tokens).",
    )


class Tune(_Strict):
    """Search the recipe's options for the best model that stays within an accuracy limit (built on Optuna).

    The search space comes from the passes: for `quantize`, the mode (when `auto`), calibration method,
    per-channel scales, activation type, whether an image stem stays in float (when the net has one), and
    how many of the most sensitive nodes stay in float (ranked by measuring each node's cost on the
    evaluation split); for `prune`, the sparsity. Each trial is a
    job event; the report holds every trial, the Pareto front and the sensitivity ranking. When no
    candidate meets the limit the job still succeeds with the closest one, `goal_met: false` and the
    shortfall in words.
    """

    objective: Literal["latency", "size", "throughput"] = Field(
        "latency",
        description="What to improve: `latency` (p50 at the target batch size), `size` (file bytes) or "
        "`throughput` (samples per second at the target batch size), each measured against the input.",
    )
    max_accuracy_drop: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Accuracy the search may give up, in accuracy units (0.01 = 1 point) or, with `relative`, "
        "as a fraction of the baseline accuracy. Applies when the dataset has labels. Unset: the recipe's "
        "`quality.max_accuracy_drop`.",
    )
    relative: bool | None = Field(
        None, description="Read `max_accuracy_drop` as a fraction of the baseline accuracy. Unset: `quality.relative`."
    )
    min_top1_agreement: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Without labels, classifier-like outputs: the least top-1 agreement with the original model. "
        "Unset: `quality.min_top1_agreement`.",
    )
    min_cosine: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Without labels, other outputs: the least mean cosine similarity to the original model. "
        "Unset: `quality.min_cosine`.",
    )
    trials: int = Field(
        20, ge=1, le=500, description="Distinct candidates to build and measure (repeated proposals are free)."
    )
    timeout_s: float | None = Field(
        None,
        gt=0.0,
        le=7 * 24 * 3600.0,
        description="Stop starting new trials after this many seconds of tuning; the best candidate found so "
        "far is kept. Unset: only `trials` bounds the search.",
    )
    sampler: Literal["tpe", "random", "grid"] = Field(
        "tpe",
        description="How trials are proposed: `tpe` (Optuna's Tree-structured Parzen Estimator, aware of the "
        "accuracy constraint), `random`, or `grid` (a coarse grid, visited in a seeded order).",
    )
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="Seeds the sampler: the same recipe and data propose the same trials."
    )

    def limit(self, base: QualityLimit) -> QualityLimit:
        """The quality limit the search must respect: ``base`` with this block's fields where set."""
        fields = ("max_accuracy_drop", "relative", "min_top1_agreement", "min_cosine")
        return base.model_copy(update={f: getattr(self, f) for f in fields if getattr(self, f) is not None})


class DataSplit(_Strict):
    """Reproducible split of the dataset into calibration and evaluation samples (no overlap)."""

    calibration_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="Seeds the random split: the same seed and data give the same samples."
    )
    max_eval_samples: int = Field(1000, ge=1, le=1_000_000)


def _default_passes() -> list[AnyPass]:
    return [QuantizePass()]


class Recipe(_Strict):
    """What to do to the model. A recipe that names nothing means: quantize, mode auto, on CPU."""

    target: Target = Field(default_factory=Target)
    passes: list[PassConfig] = Field(default_factory=_default_passes, min_length=1, max_length=16)
    quality: QualityLimit = Field(default_factory=QualityLimit)
    split: DataSplit = Field(default_factory=DataSplit)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    tune: Tune | None = Field(
        None,
        description="Search the passes' options for the best model within an accuracy limit instead of "
        "running them once as written.",
    )
