"""The one judge of fidelity (docs/architecture.md §4, "The verdict"): every output, with the metric that fits it.

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
| language_  | the logits of a language model (worker/engine/lm_eval; | next-token agreement (>= 0.95), perplexity|
| model      | its outputs arrive reduced to token metrics)           | increase (<= 5 %), greedy continuation    |

The worst output decides: its gap (how far beyond its limit, in the limit's own units) is the verdict's.
The kinds and the metrics themselves are in ``output_metrics``; this module applies the limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.schemas.recipe import OutputLimit, QualityLimit
from worker.engine.errors import EngineError
from worker.engine.lm_eval import metrics as token_metrics
from worker.engine.output_metrics import (
    accuracy,
    binary_accuracy,
    binary_labels_fit,
    cosines,
    fidelity,
    labels_fit,
    output_kind,
    per_sample,
    small_metrics,
    snr_db,
    top1_agreement,
)

NON_FINITE_GAP = 1.0  # the gap of an output that became NaN or Inf where the original was finite


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
    ``labels`` (optional) belong to the first classifier output whose classes they fit. ``language_model``: the
    output it names holds a language model's token metrics, packed (``lm_eval.Layout``), not its logits.
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
        language_model: token_metrics.Layout | None = None,
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
        self.language_model = language_model
        tokens = language_model.output if language_model is not None else None
        # a recurrent state is features, whatever its width: judged dense unless the recipe says otherwise
        self.kinds = [
            "language_model"
            if name == tokens
            else "dense"
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
            if kind == "classifier" and labels_fit(ref, labels):
                return i
        for i, (kind, ref) in enumerate(zip(self.kinds, reference, strict=True)):
            if kind == "small" and binary_labels_fit(ref, labels):
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
        if kind == "language_model":
            return self._token_checks(ref, cand)
        flat_ref, flat_cand = per_sample(ref), per_sample(cand)
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
            metrics = small_metrics(ref64, cand64, threshold)
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
        cosine = cosines(ref64, cand64)
        cosine_mean = float(np.mean(cosine))
        metrics = {
            "cosine_mean": cosine_mean,
            "cosine_min": float(np.min(cosine)),
            "snr_db": snr_db(ref64, cand64),
            "max_abs_error": float(np.max(np.abs(ref64 - cand64))) if ref64.size else 0.0,
        }
        if kind == "dense":
            return metrics, [_Check("cosine_mean", cosine_mean, self._limit(name, "min_cosine"), True, "cosine mean")]
        agreement = top1_agreement(ref, cand)
        metrics["top1_agreement"] = agreement
        if index == self.labelled:
            extra, check = self._accuracy_check(cand)
            metrics.update(extra)
            return metrics, [check]
        return metrics, [
            _Check("top1_agreement", agreement, self._limit(name, "min_top1_agreement"), True, "top-1 agreement")
        ]

    def _token_checks(self, ref: np.ndarray, cand: np.ndarray) -> tuple[dict[str, float | None], list[_Check]]:
        """A language model's limits: next-token agreement, perplexity increase, and (when set) continuation."""
        assert self.language_model is not None
        metrics = token_metrics.compare(self.language_model, ref, cand)
        increase, allowed = float(metrics["perplexity_increase"] or 0.0), self.limit.max_perplexity_increase
        checks = [
            _Check(
                "next_token_agreement",
                float(metrics["next_token_agreement"] or 0.0),
                self.limit.min_next_token_agreement,
                True,
                "next-token agreement",
            ),
            _Check(
                "perplexity_increase",
                increase,
                allowed,
                False,
                "perplexity increase",
                f"perplexity {metrics['perplexity_baseline']:.4g} -> {metrics['perplexity']:.4g} "
                f"({increase:+.2%}, limit +{allowed:.2%})",
            ),
        ]
        wanted, measured = self.limit.min_continuation_agreement, metrics["continuation_agreement"]
        if wanted is not None and measured is not None:
            checks.append(_Check("continuation_agreement", measured, wanted, True, "greedy continuation agreement"))
        elif measured is not None:
            checks[-1].text += f", greedy continuation agreement {measured:.4f}"
        return metrics, checks

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
        first = (
            token_metrics.fidelity(verdicts[0].metrics)
            if first_kind == "language_model"
            else fidelity(self.reference[0], candidate[0], first_kind)
        )
        return Quality(
            accuracy=accuracy_block,
            fidelity=first,
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
