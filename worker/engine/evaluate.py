"""Measurements, the same way for the baseline and every candidate: outputs, quality, latency, size."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from worker.engine.data import Dataset
from worker.engine.errors import EngineError
from worker.engine.progress import Reporter

WARMUP_RUNS = 3
MIN_TIMED_RUNS = 20
MAX_TIMED_RUNS = 400
ROUND_PAUSE_S = 0.02  # lets onnxruntime's spinning threads settle between variants


def _run(session: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    try:
        return list(session.run(None, feed))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError("model_run_failed", f"the model failed while running on the dataset: {message}") from None


def outputs_on(
    session: Any, dataset: Dataset, indices: np.ndarray, batch_size: int, reporter: Reporter | None = None
) -> list[np.ndarray]:
    """Every output of the model over ``indices``, concatenated along the sample axis."""
    collected: list[list[np.ndarray]] = []
    total = max(1, len(indices))
    done = 0
    for chunk, feed in dataset.batches(indices, batch_size):
        outs = _run(session, feed)
        if not collected:
            collected = [[] for _ in outs]
        per_sample = len(chunk) == 1 and any(dataset.per_sample.values())
        for bucket, out in zip(collected, outs, strict=True):
            bucket.append(np.asarray(out)[None] if per_sample or np.ndim(out) == 0 else np.asarray(out))
        done += len(chunk)
        if reporter is not None:
            reporter.update(done / total)
    return [np.concatenate(bucket, axis=0) for bucket in collected]


def is_classifier_like(output: np.ndarray) -> bool:
    return output.ndim == 2 and output.shape[1] > 1 and output.dtype.kind == "f"


@dataclass
class Quality:
    accuracy: dict[str, float] | None
    fidelity: dict[str, float | None]
    per_output: list[dict[str, Any]] = field(default_factory=list)


def _fidelity(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float | None]:
    ref = reference.reshape(len(reference), -1).astype(np.float64)
    cand = candidate.reshape(len(candidate), -1).astype(np.float64)
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    dots = np.sum(ref * cand, axis=1)
    same = np.all(ref == cand, axis=1)
    cosine = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(same, 1.0, 0.0))
    agreement = float(np.mean(reference.argmax(-1) == candidate.argmax(-1))) if is_classifier_like(reference) else None
    return {
        "top1_agreement": agreement,
        "cosine_mean": float(np.mean(cosine)),
        "cosine_min": float(np.min(cosine)),
        "max_abs_error": float(np.max(np.abs(ref - cand))) if ref.size else 0.0,
    }


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> dict[str, float] | None:
    if not is_classifier_like(logits) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        return None
    predicted = logits.argmax(-1)
    classes = np.unique(np.concatenate([labels, predicted]))
    f1s = []
    for c in classes:
        tp = np.sum((predicted == c) & (labels == c))
        fp = np.sum((predicted == c) & (labels != c))
        fn = np.sum((predicted != c) & (labels == c))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    shifted = logits.astype(np.float64) - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    valid = (labels >= 0) & (labels < logits.shape[1])
    loss = float(-np.mean(log_probs[np.arange(len(labels))[valid], labels[valid]])) if valid.any() else None
    return {"top1": float(np.mean(predicted == labels)), "f1_macro": float(np.mean(f1s)), "loss": loss}  # type: ignore[dict-item]


def quality(
    reference: list[np.ndarray], candidate: list[np.ndarray], labels: np.ndarray | None, output_names: list[str]
) -> Quality:
    """Accuracy (with labels, on the first output) and fidelity to the reference outputs, per output too."""
    if len(reference) != len(candidate):
        raise EngineError("output_mismatch", "the optimized model has a different number of outputs")
    per_output = []
    for name, ref, cand in zip(output_names, reference, candidate, strict=True):
        if ref.shape != cand.shape:
            raise EngineError("output_mismatch", f"output {name!r} changed shape from {ref.shape} to {cand.shape}")
        per_output.append({"name": name, **_fidelity(ref, cand)})
    accuracy = _accuracy(candidate[0], labels) if labels is not None else None
    return Quality(accuracy, _fidelity(reference[0], candidate[0]), per_output)


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    throughput_per_s: float
    runs: int


def measure_latency(
    sessions: dict[str, Any],
    feed: dict[str, np.ndarray],
    batch_size: int,
    *,
    budget_s: float,
    reporter: Reporter | None = None,
) -> dict[str, Latency]:
    """Time every session on the same feed in interleaved rounds (fair on a noisy, shared machine)."""
    samples: dict[str, list[float]] = {name: [] for name in sessions}
    for session in sessions.values():
        for _ in range(WARMUP_RUNS):
            _run(session, feed)
    per_round = 5
    started = time.perf_counter()
    rounds = 0
    while True:
        for name, session in sessions.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                session.run(None, feed)
                samples[name].append((time.perf_counter() - t0) * 1000.0)
            time.sleep(ROUND_PAUSE_S)
        rounds += 1
        runs = rounds * per_round
        elapsed = time.perf_counter() - started
        if reporter is not None:
            reporter.update(min(1.0, elapsed / budget_s))
        if runs >= MAX_TIMED_RUNS or (runs >= MIN_TIMED_RUNS and elapsed >= budget_s):
            break
    result = {}
    for name, times in samples.items():
        array = np.asarray(times)
        p50 = float(np.percentile(array, 50))
        result[name] = Latency(
            p50, float(np.percentile(array, 95)), batch_size * 1000.0 / float(np.mean(array)), len(times)
        )
    return result


def file_size(path: Path) -> int:
    size = path.stat().st_size
    data = path.with_name(path.name + ".data")
    return size + (data.stat().st_size if data.exists() else 0)
