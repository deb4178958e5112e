"""How one output is measured against the original's: its kind, and the metrics of each kind.

``verdict.Judge`` applies the limits to these numbers; everything here is a plain function of arrays
(sample axis first).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.core.schemas import tokens

CLASSIFIER_NAME = re.compile(r"logit|class|prob|softmax", re.IGNORECASE)
# Wide vectors are classifier logits unless their name says they are features (the safer default: top-1 agreement
# is the stricter judge of the two).
DENSE_NAME = tokens.FEATURE_NAME
SMALL_MAX_VALUES = 8  # per sample; at most this many values are judged across samples, not per sample
RATIO_CAP = 1e6  # a normalised error with a constant baseline is capped here (JSON has no infinity)


def per_sample(array: np.ndarray) -> np.ndarray:
    return array.reshape(len(array), -1)


def _vector_width(array: np.ndarray) -> int:
    """Values per sample when they lie along one axis (singleton axes aside), else 0."""
    core = [d for d in array.shape[1:] if d != 1]
    return core[0] if len(core) == 1 else 0


def _probability_rows(array: np.ndarray) -> bool:
    rows = per_sample(array).astype(np.float64)
    return bool(rows.size) and rows.min() >= 0.0 and rows.max() <= 1.0 and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3)


def labels_fit(array: np.ndarray, labels: np.ndarray | None) -> bool:
    width = _vector_width(array)
    return (
        labels is not None
        and labels.ndim == 1
        and labels.dtype.kind in "iu"
        and len(labels) == len(array)
        and width >= 2
        and int(labels.min(initial=0)) >= 0
        and int(labels.max(initial=0)) < width
    )


def output_kind(reference: np.ndarray, labels: np.ndarray | None = None, override: str = "auto", name: str = "") -> str:
    """The kind an output is judged as, from the original model's values over the evaluation samples.

    A vector of 2..8 values is a classifier only when something says its arg-max means a class: rows that
    are probabilities, labels whose classes fit it, or a name like ``logits``; otherwise it is judged as
    small (scores, regressions), across samples. A wider vector is a classifier unless its name says it
    holds features (``embedding``, ``hidden``, ``pooled``…); the recipe's ``quality.outputs`` can say either.
    """
    if override != "auto":
        return override
    if reference.dtype.kind in "biu":
        return "integer"
    width = _vector_width(reference)
    vector = width >= 2 and reference.dtype.kind == "f"
    named = bool(CLASSIFIER_NAME.search(name))
    wide = width > SMALL_MAX_VALUES and not DENSE_NAME.search(name)
    if vector and (wide or named or _probability_rows(reference) or labels_fit(reference, labels)):
        return "classifier"
    values = int(np.prod(reference.shape[1:], dtype=np.int64))
    return "small" if values <= SMALL_MAX_VALUES else "dense"


def cosines(ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    dots = np.sum(ref * cand, axis=1)
    same = np.all(ref == cand, axis=1)
    return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(same, 1.0, 0.0))  # type: ignore[no-any-return]


def snr_db(ref: np.ndarray, cand: np.ndarray) -> float | None:
    noise = float(np.sum((ref - cand) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return None  # identical: infinite SNR, reported as null
    return 10.0 * float(np.log10(max(signal, 1e-300) / noise))


def top1_agreement(ref: np.ndarray, cand: np.ndarray) -> float:
    return float(np.mean(per_sample(ref).argmax(-1) == per_sample(cand).argmax(-1)))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> dict[str, float] | None:
    """Top-1 accuracy, macro-F1 and cross-entropy of classifier ``logits`` against integer ``labels``."""
    if not labels_fit(logits, labels):
        return None
    scores = per_sample(logits).astype(np.float64)
    predicted = scores.argmax(-1)
    classes = np.unique(np.concatenate([labels, predicted]))
    f1s = []
    for c in classes:
        tp = np.sum((predicted == c) & (labels == c))
        fp = np.sum((predicted == c) & (labels != c))
        fn = np.sum((predicted != c) & (labels == c))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    shifted = scores - scores.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    loss = float(-np.mean(log_probs[np.arange(len(labels)), labels]))
    return {"top1": float(np.mean(predicted == labels)), "f1_macro": float(np.mean(f1s)), "loss": loss}


def binary_labels_fit(array: np.ndarray, labels: np.ndarray) -> bool:
    values = per_sample(array)
    return (
        labels.ndim == 1
        and labels.dtype.kind in "iub"
        and len(labels) == len(array)
        and values.shape[1] == 1
        and bool(np.isin(labels, (0, 1)).all())
        and float(values.min(initial=0.0)) >= 0.0
        and float(values.max(initial=0.0)) <= 1.0
    )


def binary_accuracy(probability: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, macro-F1 and binary cross-entropy of one probability per sample against 0/1 ``labels``."""
    p = per_sample(probability)[:, 0].astype(np.float64)
    truth = labels.astype(bool)
    predicted = p >= threshold
    f1s = []
    for positive in (True, False):
        tp = np.sum((predicted == positive) & (truth == positive))
        wrong = np.sum(predicted != truth)
        f1s.append(2 * tp / (2 * tp + wrong) if tp + wrong else 1.0)
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    loss = float(-np.mean(np.where(truth, np.log(clipped), np.log(1 - clipped))))
    return {"top1": float(np.mean(predicted == truth)), "f1_macro": float(np.mean(f1s)), "loss": loss}


def fidelity(reference: np.ndarray, candidate: np.ndarray, kind: str) -> dict[str, float | None]:
    """The report's historical fidelity block; per-sample cosine only where it means something."""
    ref, cand = per_sample(reference).astype(np.float64), per_sample(candidate).astype(np.float64)
    cosine = cosines(ref, cand) if kind in ("classifier", "dense") and ref.size else None
    return {
        "top1_agreement": top1_agreement(reference, candidate) if kind == "classifier" else None,
        "cosine_mean": None if cosine is None else float(np.mean(cosine)),
        "cosine_min": None if cosine is None else float(np.min(cosine)),
        "max_abs_error": float(np.max(np.abs(ref - cand))) if ref.size else 0.0,
    }


def small_metrics(ref: np.ndarray, cand: np.ndarray, threshold: float) -> dict[str, float | None]:
    rmse = float(np.sqrt(np.mean((ref - cand) ** 2)))
    spread = float(np.sqrt(np.mean(np.var(ref, axis=0))))
    # a constant output: any error is infinitely large against no spread
    normalized = min(rmse / spread, RATIO_CAP) if spread > 0 else (0.0 if rmse == 0.0 else RATIO_CAP)
    pearson = None
    if spread > 0 and len(ref) > 1:
        columns = [j for j in range(ref.shape[1]) if np.std(ref[:, j]) > 0]
        values = []
        for j in columns:
            if np.std(cand[:, j]) == 0:
                values.append(0.0)
            else:
                values.append(float(np.corrcoef(ref[:, j], cand[:, j])[0, 1]))
        pearson = float(np.mean(values)) if values else None
    metrics: dict[str, float | None] = {
        "normalized_rmse": normalized,
        "rmse": rmse,
        "baseline_std": spread,
        "max_abs_error": float(np.max(np.abs(ref - cand))),
        "pearson": pearson,
        "decision_agreement": None,
        "top1_agreement": top1_agreement(ref, cand) if ref.shape[1] >= 2 else None,
    }
    if ref.min() >= 0.0 and ref.max() <= 1.0:
        metrics["decision_agreement"] = float(np.mean((ref >= threshold) == (cand >= threshold)))
        metrics["positive_rate"] = float(np.mean(ref >= threshold))
        metrics["positive_rate_candidate"] = float(np.mean(cand >= threshold))
    return metrics


def class_report(scores: np.ndarray, labels: np.ndarray, names: list[str] | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision / recall / F1 / support and the confusion matrix.

    ``scores`` [N, K] (logits or probabilities, arg-max is the prediction), ``labels`` [N] class ids;
    ``confusion[i][j]`` counts samples of class i predicted as j. ``names`` name the classes (id -> name).
    """
    predicted = per_sample(scores).argmax(-1)
    classes = max(per_sample(scores).shape[1], int(labels.max(initial=-1)) + 1)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (labels.astype(np.int64), predicted), 1)
    per_class: list[dict[str, Any]] = []
    for c in range(classes):
        tp = int(confusion[c, c])
        fp, fn = int(confusion[:, c].sum()) - tp, int(confusion[c, :].sum()) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        name = names[c] if names and c < len(names) else str(c)
        per_class.append(
            {"class_id": c, "name": name, "precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
        )
    predicted_counts = confusion.sum(0)
    present = [row for row in per_class if row["support"] or predicted_counts[int(row["class_id"])]]
    return {
        "task": "classification",
        "samples": int(len(labels)),
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
        "f1_macro": float(np.mean([row["f1"] for row in present])) if present else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def regression_report(predicted: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """Mean squared error, mean absolute error and R² (1 - residual / total sum of squares) over all values."""
    pred = per_sample(predicted).astype(np.float64)
    true = target.astype(np.float64).reshape(pred.shape)
    residual = float(np.sum((pred - true) ** 2))
    total = float(np.sum((true - true.mean(0)) ** 2))
    return {
        "task": "regression",
        "samples": int(len(true)),
        "mse": residual / max(1, true.size),
        "mae": float(np.mean(np.abs(pred - true))) if true.size else 0.0,
        "r2": 1.0 - residual / total if total > 0 else None,
    }
