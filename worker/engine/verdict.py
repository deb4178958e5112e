"""The one judge of fidelity (DESIGN §4, "The verdict"): every output, with the metric that fits it.

Used by ``quantize auto``, ``tune``, the prune pass, the final comparison of a job and ``slimline
compare``. The kind of each output is read from the original model's outputs on the evaluation data:

| kind       | when                                                   | judged by (default limit)                 |
| ---------- | ------------------------------------------------------ | ----------------------------------------- |
| integer    | int / bool dtype                                        | exact-match rate (>= 0.99)                |
| classifier | one axis of >= 2 values per sample: > 8 of them, rows  | top-1 agreement (>= 0.99); accuracy drop  |
|            | that are probabilities, or the labels' classes         | (<= 1 point) for the labelled output      |
| small      | <= 8 values per sample                                  | RMSE over the baseline's spread across    |
|            |                                                        | samples (<= 0.1); decision agreement at   |
|            |                                                        | 0.5 for values in [0, 1] (>= 0.99)        |
| dense      | anything else                                          | per-sample cosine mean (>= 0.99)          |

The worst output decides: its gap (how far beyond its limit, in the limit's own units) is the verdict's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.schemas.recipe import OutputLimit, QualityLimit
from worker.engine.errors import EngineError

CLASSIFIER_NAME = re.compile(r"logit|class|prob|softmax", re.IGNORECASE)
# Wide vectors are classifier logits unless their name says they are features (the safer default: top-1 agreement
# is the stricter judge of the two).
DENSE_NAME = re.compile(r"embed|feature|hidden|state|pool|encod|vector|latent|token_emb", re.IGNORECASE)
SMALL_MAX_VALUES = 8  # per sample; at most this many values are judged across samples, not per sample
NON_FINITE_GAP = 1.0  # the gap of an output that became NaN or Inf where the original was finite
RATIO_CAP = 1e6  # a normalised error with a constant baseline is capped here (JSON has no infinity)


@dataclass
class OutputVerdict:
    """One output's metrics, the limits applied to it, and whether it is within them."""

    name: str
    kind: str
    metrics: dict[str, float | None]
    limits: dict[str, float]
    within: bool
    gap: float  # <= 0: within every limit; else how far beyond the worst one, in its own units
    why: str
    ignored: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "metrics": self.metrics,
            "limits": self.limits,
            "within": self.within,
            "gap": self.gap,
            "why": self.why,
            "ignored": self.ignored,
        }


@dataclass
class Quality:
    """A candidate judged against the original: every output, and the verdict the worst one decides."""

    accuracy: dict[str, float] | None
    fidelity: dict[str, float | None]  # the first output's, in the report's historical shape
    per_output: list[dict[str, Any]] = field(default_factory=list)
    within: bool = True
    gap: float = 0.0
    why: str = "unchanged input"
    decided_by: str | None = None


def _per_sample(array: np.ndarray) -> np.ndarray:
    return array.reshape(len(array), -1)


def _vector_width(array: np.ndarray) -> int:
    """Values per sample when they lie along one axis (singleton axes aside), else 0."""
    core = [d for d in array.shape[1:] if d != 1]
    return core[0] if len(core) == 1 else 0


def _probability_rows(array: np.ndarray) -> bool:
    rows = _per_sample(array).astype(np.float64)
    return bool(rows.size) and rows.min() >= 0.0 and rows.max() <= 1.0 and np.allclose(rows.sum(axis=1), 1.0, atol=1e-3)


def _labels_fit(array: np.ndarray, labels: np.ndarray | None) -> bool:
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
    if vector and (wide or named or _probability_rows(reference) or _labels_fit(reference, labels)):
        return "classifier"
    values = int(np.prod(reference.shape[1:], dtype=np.int64))
    return "small" if values <= SMALL_MAX_VALUES else "dense"


def _cosines(ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(cand, axis=1)
    dots = np.sum(ref * cand, axis=1)
    same = np.all(ref == cand, axis=1)
    return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(same, 1.0, 0.0))  # type: ignore[no-any-return]


def _snr_db(ref: np.ndarray, cand: np.ndarray) -> float | None:
    noise = float(np.sum((ref - cand) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return None  # identical: infinite SNR, reported as null
    return 10.0 * float(np.log10(max(signal, 1e-300) / noise))


def _top1(ref: np.ndarray, cand: np.ndarray) -> float:
    return float(np.mean(_per_sample(ref).argmax(-1) == _per_sample(cand).argmax(-1)))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> dict[str, float] | None:
    """Top-1 accuracy, macro-F1 and cross-entropy of classifier ``logits`` against integer ``labels``."""
    if not _labels_fit(logits, labels):
        return None
    scores = _per_sample(logits).astype(np.float64)
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


def _binary_labels_fit(array: np.ndarray, labels: np.ndarray) -> bool:
    values = _per_sample(array)
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
    p = _per_sample(probability)[:, 0].astype(np.float64)
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
    ref, cand = _per_sample(reference).astype(np.float64), _per_sample(candidate).astype(np.float64)
    cosine = _cosines(ref, cand) if kind in ("classifier", "dense") and ref.size else None
    return {
        "top1_agreement": _top1(reference, candidate) if kind == "classifier" else None,
        "cosine_mean": None if cosine is None else float(np.mean(cosine)),
        "cosine_min": None if cosine is None else float(np.min(cosine)),
        "max_abs_error": float(np.max(np.abs(ref - cand))) if ref.size else 0.0,
    }


def _small_metrics(ref: np.ndarray, cand: np.ndarray, threshold: float) -> dict[str, float | None]:
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
        "top1_agreement": _top1(ref, cand) if ref.shape[1] >= 2 else None,
    }
    if ref.min() >= 0.0 and ref.max() <= 1.0:
        metrics["decision_agreement"] = float(np.mean((ref >= threshold) == (cand >= threshold)))
        metrics["positive_rate"] = float(np.mean(ref >= threshold))
        metrics["positive_rate_candidate"] = float(np.mean(cand >= threshold))
    return metrics


@dataclass
class _Check:
    metric: str
    value: float
    limit: float
    higher_is_better: bool
    label: str
    text: str = ""  # the sentence, when the default one does not say it well

    @property
    def gap(self) -> float:
        return self.limit - self.value if self.higher_is_better else self.value - self.limit

    def sentence(self) -> str:
        return self.text or f"{self.label} {self.value:.4f} (limit {self.limit:g})"


class Judge:
    """Judges candidates against the original model's outputs on the evaluation data, output by output.

    ``reference`` holds the original's outputs (sample axis first; the whole trajectory for a rollout);
    ``labels`` (optional) belong to the first classifier output whose classes they fit.
    """

    def __init__(
        self,
        limit: QualityLimit,
        reference: list[np.ndarray],
        output_names: list[str],
        labels: np.ndarray | None,
        *,
        context: str = "",
        state_outputs: frozenset[str] = frozenset(),
    ) -> None:
        unknown = sorted(set(limit.outputs) - set(output_names))
        if unknown:
            raise EngineError(
                "invalid_recipe",
                f"quality.outputs names {', '.join(map(repr, unknown))}, which the model does not have "
                f"(outputs: {', '.join(output_names)})",
            )
        self.limit = limit
        self.reference = reference
        self.names = output_names
        self.context = context  # e.g. "rollout over 6 sequences", said in the deciding sentence
        # a recurrent state is features, whatever its width: judged dense unless the recipe says otherwise
        self.kinds = [
            "dense"
            if name in state_outputs and self._override(name).kind == "auto"
            else output_kind(ref, labels, self._override(name).kind, name)
            for name, ref in zip(output_names, reference, strict=True)
        ]
        self.labels = labels
        self.labelled = self._labelled_output(reference, labels)
        self.baseline_accuracy = self.accuracy_of(reference) if self.labelled is not None else None
        if all(self._override(name).ignore for name in output_names):
            raise EngineError("invalid_recipe", "quality.outputs ignores every output: at least one must be judged")

    def _labelled_output(self, reference: list[np.ndarray], labels: np.ndarray | None) -> int | None:
        """The output the labels are judged on: the first classifier whose classes they fit, else (0/1 labels)
        the first small output holding one probability per sample."""
        if labels is None:
            return None
        for i, (kind, ref) in enumerate(zip(self.kinds, reference, strict=True)):
            if kind == "classifier" and _labels_fit(ref, labels):
                return i
        for i, (kind, ref) in enumerate(zip(self.kinds, reference, strict=True)):
            if kind == "small" and _binary_labels_fit(ref, labels):
                return i
        return None

    def accuracy_of(self, outputs: list[np.ndarray]) -> dict[str, float] | None:
        """Accuracy against the labels on the labelled output (arg-max, or the decision threshold for a
        single probability); None without labels that fit an output."""
        if self.labelled is None or self.labels is None:
            return None
        output = outputs[self.labelled]
        if self.kinds[self.labelled] == "small":
            threshold = self._limit(self.names[self.labelled], "decision_threshold")
            return binary_accuracy(output, self.labels, threshold)
        return accuracy(output, self.labels)

    def _accuracy_check(self, candidate: np.ndarray) -> tuple[dict[str, float | None], _Check]:
        assert self.labelled is not None and self.baseline_accuracy is not None
        outputs = [candidate if i == self.labelled else r for i, r in enumerate(self.reference)]
        scored = self.accuracy_of(outputs)
        assert scored is not None  # the labels fit the reference, and the shapes match
        drop = self.baseline_accuracy["top1"] - scored["top1"]
        allowed = self.limit.max_accuracy_drop * (self.baseline_accuracy["top1"] if self.limit.relative else 1.0)
        relative = f" = {self.limit.max_accuracy_drop * 100:g} % of the baseline" if self.limit.relative else ""
        text = f"accuracy drop {drop * 100:.2f} points (limit {allowed * 100:.2f}{relative})"
        metrics: dict[str, float | None] = {
            "accuracy": scored["top1"],
            "f1_macro": scored["f1_macro"],
            "accuracy_drop": drop,
        }
        return metrics, _Check("accuracy_drop", drop, allowed, False, "accuracy drop", text)

    def _override(self, name: str) -> OutputLimit:
        return self.limit.outputs.get(name) or OutputLimit()

    def _limit(self, name: str, field_name: str) -> float:
        value = getattr(self._override(name), field_name)
        return float(getattr(self.limit, field_name) if value is None else value)

    def describe(self) -> list[dict[str, Any]]:
        """Each output's name, kind, and whether labels are judged on it (for the report)."""
        return [
            {"name": n, "kind": k, "labelled": i == self.labelled, "ignored": self._override(n).ignore}
            for i, (n, k) in enumerate(zip(self.names, self.kinds, strict=True))
        ]

    def _checks(self, index: int, ref: np.ndarray, cand: np.ndarray) -> tuple[dict[str, float | None], list[_Check]]:
        name, kind = self.names[index], self.kinds[index]
        flat_ref, flat_cand = _per_sample(ref), _per_sample(cand)
        if kind == "integer":
            equal = flat_ref == flat_cand
            rate = float(np.mean(equal)) if equal.size else 1.0
            metrics: dict[str, float | None] = {
                "exact_match": rate,
                "sample_exact_match": float(np.mean(np.all(equal, axis=1))) if equal.size else 1.0,
            }
            return metrics, [_Check("exact_match", rate, self._limit(name, "min_exact_match"), True, "exact match")]
        ref64, cand64 = flat_ref.astype(np.float64), flat_cand.astype(np.float64)
        if kind == "small":
            threshold = self._limit(name, "decision_threshold")
            metrics = _small_metrics(ref64, cand64, threshold)
            checks = [
                _Check(
                    "normalized_rmse",
                    float(metrics["normalized_rmse"] or 0.0),
                    self._limit(name, "max_normalized_rmse"),
                    False,
                    "RMSE / baseline spread",
                )
            ]
            if index == self.labelled:  # judged by the task (labels), the rest is reported
                extra, check = self._accuracy_check(cand)
                metrics.update(extra)
                return metrics, [check]
            if metrics["decision_agreement"] is not None:
                checks.append(
                    _Check(
                        "decision_agreement",
                        float(metrics["decision_agreement"]),
                        self._limit(name, "min_decision_agreement"),
                        True,
                        f"decision agreement at {threshold:g}",
                    )
                )
            return metrics, checks
        cosine = _cosines(ref64, cand64)
        cosine_mean = float(np.mean(cosine))
        metrics = {
            "cosine_mean": cosine_mean,
            "cosine_min": float(np.min(cosine)),
            "snr_db": _snr_db(ref64, cand64),
            "max_abs_error": float(np.max(np.abs(ref64 - cand64))) if ref64.size else 0.0,
        }
        if kind == "dense":
            return metrics, [_Check("cosine_mean", cosine_mean, self._limit(name, "min_cosine"), True, "cosine mean")]
        agreement = _top1(ref, cand)
        metrics["top1_agreement"] = agreement
        if index == self.labelled:
            extra, check = self._accuracy_check(cand)
            metrics.update(extra)
            return metrics, [check]
        return metrics, [
            _Check("top1_agreement", agreement, self._limit(name, "min_top1_agreement"), True, "top-1 agreement")
        ]

    def judge(self, candidate: list[np.ndarray]) -> Quality:
        """Every output of ``candidate`` against the original; the worst output decides."""
        if len(candidate) != len(self.reference):
            raise EngineError("output_mismatch", "the optimized model has a different number of outputs")
        verdicts: list[OutputVerdict] = []
        for index, (name, ref, cand) in enumerate(zip(self.names, self.reference, candidate, strict=True)):
            if ref.shape != cand.shape:
                raise EngineError("output_mismatch", f"output {name!r} changed shape from {ref.shape} to {cand.shape}")
            verdicts.append(self._judge_one(index, ref, cand))
        judged = [v for v in verdicts if not v.ignored]
        worst = max(judged, key=lambda v: v.gap)
        failing = [v for v in judged if not v.within]
        context = f" ({self.context})" if self.context else ""
        if failing:
            why = "; ".join(v.why for v in sorted(failing, key=lambda v: -v.gap)) + context
        else:
            why = worst.why + context
        first_kind = self.kinds[0]
        accuracy_block = self.accuracy_of(candidate)
        return Quality(
            accuracy=accuracy_block,
            fidelity=fidelity(self.reference[0], candidate[0], first_kind),
            per_output=[v.as_dict() for v in verdicts],
            within=not failing,
            gap=worst.gap,
            why=why,
            decided_by=worst.name,
        )

    def _judge_one(self, index: int, ref: np.ndarray, cand: np.ndarray) -> OutputVerdict:
        name, kind = self.names[index], self.kinds[index]
        ignored = self._override(name).ignore
        bad = ~np.isfinite(cand) & np.isfinite(ref) if cand.dtype.kind == "f" else np.zeros(cand.shape, bool)
        if bad.any():
            share = float(np.mean(bad))
            return OutputVerdict(
                name, kind, {"non_finite": share}, {}, ignored, NON_FINITE_GAP,
                f"output {name!r} ({kind}): {share:.1%} of its values became NaN or Inf", ignored,
            )  # fmt: skip
        metrics, checks = self._checks(index, ref, cand)
        worst = max(checks, key=lambda c: c.gap)
        limits = {c.metric: c.limit for c in checks}
        within = all(c.gap <= 1e-12 for c in checks)
        why = f"output {name!r} ({kind}): " + ", ".join(c.sentence() for c in checks)
        if ignored:
            why += " (ignored)"
        return OutputVerdict(
            name, kind, metrics, limits, within or ignored, worst.gap if not ignored else -1.0, why, ignored
        )
