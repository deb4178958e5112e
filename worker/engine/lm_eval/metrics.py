"""Token-level metrics of a language model against the original's: plain functions of arrays.

A model's run over the evaluation sequences is reduced, batch by batch, to what the metrics need (the full
logits of a real vocabulary over a dataset would not fit in memory): the arg-max token at every position,
the log-probability of the dataset's own next token, which positions count, and the greedy continuation of
the prompts. ``Layout`` packs these into one float64 row per sequence, so the verdict can hold them like any
other output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ABSENT = -1  # a masked position's prediction, and the continuation of a sequence that was not a prompt


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p over the last axis, in float64."""
    wide = logits.astype(np.float64)
    shifted = wide - wide.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # type: ignore[no-any-return]


def reduce_logits(
    logits: np.ndarray, input_ids: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From logits [n, T, V] and the ids fed [n, T]: the arg-max token per position [n, T] (ABSENT where
    masked), the log-probability of each next token [n, T-1], and which of those count [n, T-1] (both the
    position and the next one are real tokens)."""
    real = np.ones(input_ids.shape, bool) if mask is None else mask.astype(bool)
    predicted = np.where(real, logits.argmax(axis=-1), ABSENT)
    log_probs = log_softmax(logits[:, :-1])
    target = np.take_along_axis(log_probs, input_ids[:, 1:, None].astype(np.int64), axis=-1)[..., 0]
    return predicted, target, real[:, :-1] & real[:, 1:]


def next_token_agreement(reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of (real) positions where both models predict the same next token (arg-max ids [n, T])."""
    real = (reference != ABSENT) if mask is None else mask.astype(bool)
    return float(np.mean(reference[real] == candidate[real])) if real.any() else 1.0


def perplexity(target_log_probs: np.ndarray, counted: np.ndarray | None = None) -> float:
    """exp of the mean negative log-likelihood of the next tokens that count (the dataset's own text)."""
    values = target_log_probs if counted is None else target_log_probs[counted.astype(bool)]
    return float(np.exp(-np.mean(values))) if values.size else 1.0


def continuation_agreement(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float]:
    """(share of generated tokens equal position by position, mean share of each continuation before the
    first difference) over greedy continuations [prompts, k]."""
    if reference.size == 0:
        return 1.0, 1.0
    equal = reference == candidate
    prefix = np.where(equal.all(axis=1), equal.shape[1], np.argmin(equal, axis=1))
    return float(np.mean(equal)), float(np.mean(prefix / equal.shape[1]))


@dataclass(frozen=True)
class Packed:
    predicted: np.ndarray  # [n, T] arg-max ids (ABSENT where masked)
    target_log_probs: np.ndarray  # [n, T-1]
    counted: np.ndarray  # [n, T-1] bool
    continuation: np.ndarray  # [n, k] ids (ABSENT for rows that were not prompts)


@dataclass(frozen=True)
class Layout:
    """How a language model's reduced outputs lie in one float64 row per sequence (ids are exact in float64)."""

    output: str  # the logits output these stand for
    tokens: int  # T, the sequence length
    continuation: int  # k, tokens generated after each prompt (0: none)

    @property
    def width(self) -> int:
        return self.tokens + 2 * (self.tokens - 1) + self.continuation

    def pack(
        self, predicted: np.ndarray, target: np.ndarray, counted: np.ndarray, continuation: np.ndarray
    ) -> np.ndarray:
        return np.concatenate(
            [predicted.astype(np.float64), target, counted.astype(np.float64), continuation.astype(np.float64)],
            axis=1,
        )

    def unpack(self, rows: np.ndarray) -> Packed:
        t, k = self.tokens, self.continuation
        return Packed(
            rows[:, :t].astype(np.int64),
            rows[:, t : 2 * t - 1],
            rows[:, 2 * t - 1 : 3 * t - 2] > 0.5,
            rows[:, 3 * t - 2 : 3 * t - 2 + k].astype(np.int64),
        )


def compare(layout: Layout, reference: np.ndarray, candidate: np.ndarray) -> dict[str, float | None]:
    """Every token-level metric of ``candidate`` against ``reference`` (packed rows of the same sequences)."""
    ref, cand = layout.unpack(reference), layout.unpack(candidate)
    base, new = perplexity(ref.target_log_probs, ref.counted), perplexity(cand.target_log_probs, ref.counted)
    prompts = (ref.continuation != ABSENT).all(axis=1) if layout.continuation else np.zeros(len(ref.counted), bool)
    agreement, prefix = continuation_agreement(ref.continuation[prompts], cand.continuation[prompts])
    generated = bool(prompts.any())
    return {
        "next_token_agreement": next_token_agreement(ref.predicted, cand.predicted, ref.predicted != ABSENT),
        "perplexity_baseline": base,
        "perplexity": new,
        "perplexity_increase": new / base - 1.0,
        "continuation_agreement": agreement if generated else None,
        "continuation_prefix_agreement": prefix if generated else None,
        "continuation_prompts": float(prompts.sum()),
        "max_log_prob_error": float(  # over the next tokens that count: a padded position's value is noise
            np.max(np.abs(ref.target_log_probs - cand.target_log_probs)[ref.counted], initial=0.0)
        ),
    }


def fidelity(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The report's first-output fidelity block for a language model: next-token agreement as top-1."""
    return {
        "top1_agreement": metrics.get("next_token_agreement"),
        "cosine_mean": None,
        "cosine_min": None,
        "max_abs_error": float(metrics.get("max_log_prob_error") or 0.0),
    }
