"""The job's memory pre-flight: its peak resident memory estimated before the model is loaded, against the
worker's per-job limit (worker/job_memory.py), so a model too large for the worker is refused with
``model_too_large_for_worker`` instead of being killed half-way (docs/architecture.md §4, Large models).

peak ≈ runtime + weights × copies + outputs × 9 + dataset × 2, where

- runtime is the process before any model: Python, numpy, onnx and onnxruntime (and torch when a pass
  trains or the upload is a torch archive);
- weights is the model's bytes on disk (the .onnx file and its external data files);
- copies is how many weight-sized copies are alive at once: the input's onnxruntime session is held for the
  whole job, its ONNX proto while it is read and repaired, the result's session in the final comparison,
  and then the most any one pass holds besides (``PASS_COPIES``);
- outputs is one variant's outputs over the evaluation split, from the graph's output shapes: the reference
  is kept for the whole job, a candidate's beside it, and the verdict works on them in float64. A language
  model's logits (samples × sequence × vocabulary floats, which can outweigh its weights) are reduced batch by
  batch to a few float64 values per token (worker/engine/lm_eval), so they count as that, plus the largest
  batch of logits alive at once, and its KV-cache outputs as nothing kept;
- the dataset is read into arrays and fed in batches.

The factors were measured as the peak RSS of the engine's process (what the runner logs) on the tens-of-millions
decoder of benchmarks/weight_only.py, varying the dataset to separate weights from outputs (benchmarks/RESULTS.md,
"Weight-only quantization", memory); they are rounded up, since refusing a job that would have fit is cheaper
than losing one that would not. Prune and transfer are not measured yet (by analogy, marked so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.schemas.recipe import Recipe
from worker.engine.errors import EngineError

MIB = 1024**2
RUNTIME_BYTES = 350 * MIB  # python + numpy + onnx + onnxruntime, and what a forked job shares with its worker
TORCH_RUNTIME_BYTES = 450 * MIB  # torch imported on top
# Measured on the 35 M-parameter decoder of benchmarks/weight_only.py (141 MB of fp32 weights), peak RSS less
# the runtime and the outputs: weight_only 7.6 copies, weight_only auto 22.6, quantize dynamic 10.3 to 11.1. An
# onnxruntime session holds its initializers and prepacked copies of MatMul/Gemm weights; the ONNX proto is
# read (load, repairs, facts) and written several times; freed Python memory is not returned at once.
BASE_COPIES = 4.0  # the input's session (job-long), its protos while loading and measuring, the result's session
PASS_COPIES = {
    "quantize": 8.0,  # onnxruntime's quantizers copy the model; auto times every candidate's session together
    "weight_only": 4.0,  # the prepared fp32 copy, the quantizer's working copy, the candidate's session
    "prune": 5.0,  # not measured yet: the lifted torch module, its gradients, Adam's two moments, the export
    "transfer": 5.0,  # not measured yet: as prune, training in torch
}
WEIGHT_ONLY_AUTO_COPIES = 19.0  # a dozen candidates' sessions alive together for the interleaved timing
DATASET_COPIES = 2.0
OUTPUT_COPIES = 9.0  # measured 5.2 to 8.5: the reference, a candidate's, the verdict's float64 work on them
DECODE_BATCH = 8  # sequences a language model's logits are computed for at once, at least (lm_eval.decode)
LOGITS_BATCH_COPIES = 4.0  # one batch's logits, their float64 log-softmax (twice the size), the arg-max's work
PROTO_PEEK_MAX_BYTES = 64 * MIB  # a larger .onnx holds its weights inside: its size is the weights' size


@dataclass(frozen=True)
class Estimate:
    """A job's estimated peak resident memory, in bytes, and what it is made of."""

    peak_bytes: int
    weights_bytes: int
    outputs_bytes: int
    dataset_bytes: int
    runtime_bytes: int
    copies: float

    def describe(self) -> dict[str, Any]:
        return {
            "estimate_bytes": self.peak_bytes,
            "weights_bytes": self.weights_bytes,
            "outputs_bytes": self.outputs_bytes,
            "dataset_bytes": self.dataset_bytes,
            "runtime_bytes": self.runtime_bytes,
            "weight_copies": self.copies,
        }


def weights_bytes(model_path: Path, model_format: str = "onnx") -> int:
    """The model's bytes on disk: the file, plus the external data files a (small) .onnx names beside it."""
    size = model_path.stat().st_size
    if model_format != "onnx" or size > PROTO_PEEK_MAX_BYTES:
        return size
    import onnx

    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable model fails later, at load, with its own error
        return size
    locations = {
        entry.value
        for tensor in _tensors(model.graph)
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }
    for location in locations:
        path = (model_path.parent / location).resolve()
        if path.is_relative_to(model_path.parent.resolve()) and path.is_file():
            size += path.stat().st_size
    return size


def _tensors(graph: Any) -> list[Any]:
    found = list(graph.initializer)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                found.append(attribute.t)
            if attribute.HasField("g"):
                found += _tensors(attribute.g)
            for sub in attribute.graphs:
                found += _tensors(sub)
    return found


def dataset_shapes(dataset_path: Path) -> dict[str, tuple[int, ...]]:
    """The .npz's array shapes, read from the member headers (no array is loaded); {} when unreadable."""
    import zipfile

    import numpy as np

    shapes: dict[str, tuple[int, ...]] = {}
    try:
        with zipfile.ZipFile(dataset_path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, _ = read(member)
                shapes[info.filename.removesuffix(".npy")] = tuple(shape)
    except (OSError, ValueError, zipfile.BadZipFile):
        return {}
    return shapes


def outputs_bytes(model_path: Path, dataset_path: Path, recipe: Recipe, model_format: str = "onnx") -> int:
    """One variant's outputs over the evaluation split (the reference the verdict keeps, and each candidate's):
    per-sample elements from the graph's output shapes, a symbolic axis as long as the dataset's longest
    non-sample axis (a sequence), float32. 0 when the graph cannot be peeked at cheaply."""
    if model_format != "onnx" or model_path.stat().st_size > PROTO_PEEK_MAX_BYTES:
        return 0
    import onnx

    shapes = dataset_shapes(dataset_path)
    arrays = [shape for name, shape in shapes.items() if name not in ("labels", "label_names", "sequence_id")]
    if not arrays:
        return 0
    samples = arrays[0][0] if arrays[0] else 0
    evaluated = min(recipe.split.max_eval_samples, samples - round(samples * recipe.split.calibration_fraction))
    longest = max((d for shape in arrays for d in shape[1:]), default=1)
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable model fails later, at load, with its own error
        return 0

    def elements(output: Any) -> int:
        count = 1
        for dim in list(output.type.tensor_type.shape.dim)[1:]:
            count *= dim.dim_value if dim.HasField("dim_value") else longest
        return count

    graph = model.graph
    tokens = _language_model(model, recipe)
    if tokens is None:
        return max(0, evaluated) * sum(elements(o) for o in graph.output) * 4
    logits, cache = tokens
    kept = [o for o in graph.output if o.name != logits and o.name not in cache]
    packed = 3 * longest + recipe.evaluation.continuation_tokens  # float64 per sequence (lm_eval.Layout)
    batch = max(recipe.target.batch_size, DECODE_BATCH)
    vocabulary = next(elements(o) for o in graph.output if o.name == logits)  # sequence × vocabulary
    transient = int(batch * vocabulary * 4 * LOGITS_BATCH_COPIES)
    return max(0, evaluated) * (sum(elements(o) for o in kept) * 4 + packed * 8) + transient


def _language_model(model: Any, recipe: Recipe) -> tuple[str, set[str]] | None:
    """(the logits output, the KV-cache outputs) when the job judges the model as a language model."""
    from worker.engine import lm_eval, modelio
    from worker.engine.errors import EngineError

    try:
        signature = lm_eval.detect(
            model,
            modelio.input_specs(model),
            modelio.output_specs(model),
            recipe.evaluation.task,
            state_given=bool(recipe.evaluation.state),
        )
    except EngineError:
        return None
    if signature is None or signature.logits is None:
        return None
    return signature.logits, set(signature.cache.values())


def copies_for(recipe: Recipe) -> float:
    """Weight-sized copies alive at the job's peak: the base, and the hungriest pass (passes run in turn)."""
    if recipe.tune is not None:  # a trial builds and times candidates like quantize auto, and may prune
        extra = max(PASS_COPIES[p.type] for p in recipe.passes) if recipe.passes else PASS_COPIES["quantize"]
        return BASE_COPIES + max(extra, PASS_COPIES["quantize"])
    extra = 0.0
    for config in recipe.passes:
        copies = PASS_COPIES.get(config.type, 3.0)
        if config.type == "weight_only" and getattr(config, "mode", None) == "auto":
            copies = WEIGHT_ONLY_AUTO_COPIES
        extra = max(extra, copies)
    return BASE_COPIES + extra


def needs_torch(recipe: Recipe, model_format: str) -> bool:
    """Torch is imported for a torch archive, for training passes, and by onnxruntime's HQQ quantizer."""
    return model_format == "torch_export" or any(
        p.type in ("prune", "transfer") or getattr(p, "algorithm", None) == "hqq" for p in recipe.passes
    )


def estimate(model_path: Path, dataset_path: Path, recipe: Recipe, model_format: str = "onnx") -> Estimate:
    """The job's peak resident memory, estimated from file sizes and the recipe (nothing is loaded)."""
    weights = weights_bytes(model_path, model_format)
    outputs = outputs_bytes(model_path, dataset_path, recipe, model_format)
    dataset = dataset_path.stat().st_size if dataset_path.exists() else 0
    runtime = RUNTIME_BYTES + (TORCH_RUNTIME_BYTES if needs_torch(recipe, model_format) else 0)
    copies = copies_for(recipe)
    peak = int(runtime + weights * copies + outputs * OUTPUT_COPIES + dataset * DATASET_COPIES)
    return Estimate(peak, weights, outputs, dataset, runtime, copies)


def check(found: Estimate, limit_bytes: int | None) -> None:
    """EngineError ``model_too_large_for_worker`` naming both numbers when the estimate exceeds the limit."""
    if limit_bytes is None or found.peak_bytes <= limit_bytes:
        return
    raise EngineError(
        "model_too_large_for_worker",
        f"this job needs an estimated {found.peak_bytes // MIB} MB of memory (weights {found.weights_bytes // MIB} "
        f"MB × {found.copies:g} copies for this recipe's passes, plus the runtime and the dataset) but the worker "
        f"allows {limit_bytes // MIB} MB per job: run it on a worker with more memory (SLIMLINE_JOB_MEMORY_LIMIT_BYTES "
        "or fewer concurrent jobs), or use a recipe with fewer copies (no `auto` mode, no tune)",
    )
