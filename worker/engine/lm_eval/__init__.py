"""Token-level evaluation of language models (and timing of token encoders) against the original model.

A language model (an integer ``input_ids`` input, a [batch, sequence, vocabulary] output) is judged on a
dataset of token sequences (``input_ids`` [N, T], optional ``attention_mask``) by what its users see:

- ``next_token_agreement``: the share of real positions where both models predict the same next token;
- ``perplexity`` of both on the dataset's own next tokens, and its relative change;
- ``greedy_continuation`` agreement: both decode ``k`` tokens greedily from the same prompts (through the KV
  cache when the model has one), and the share of equal tokens is reported (and judged when the recipe says).

The recipe's ``quality.min_next_token_agreement`` and ``quality.max_perplexity_increase`` decide the verdict
(``verdict.Judge``). Latency: ``prefill_latency`` and ``decode_latency`` (batch 1) for decoders,
``encoder_latency`` per sequence length for encoders. The functions are usable on their own, e.g.::

    model = onnx.load(path)
    signature = lm_eval.detect(model, modelio.input_specs(model), modelio.output_specs(model), "auto")
    tokens = lm_eval.greedy_continuation(session, signature, prompts, 16)  # prompts: ids [n, length]
    timings = lm_eval.decode_latency({"fp32": a, "int4": b}, signature, row, 16, 32, budget_s=2.0)
    predicted, log_probs, counted = lm_eval.reduce_logits(logits, input_ids, attention_mask)
    lm_eval.perplexity(log_probs, counted), lm_eval.next_token_agreement(predicted, other_predicted)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from worker.engine import evaluate
from worker.engine.data import Dataset
from worker.engine.lm_eval.decode import TokenPlan, complete, feed, fillable, greedy_continuation, plan
from worker.engine.lm_eval.latency import ENCODER_LENGTHS, decode_latency, encoder_latency, prefill_latency
from worker.engine.lm_eval.metrics import (
    Layout,
    compare,
    continuation_agreement,
    log_softmax,
    next_token_agreement,
    perplexity,
    reduce_logits,
)
from worker.engine.lm_eval.signature import Signature, cache_pairs, check_token_ids, detect, embedding_rows

__all__ = [
    "ENCODER_LENGTHS",
    "Layout",
    "Signature",
    "TokenPlan",
    "cache_pairs",
    "check_token_ids",
    "compare",
    "complete",
    "continuation_agreement",
    "decode_latency",
    "detect",
    "embedding_rows",
    "encoder_latency",
    "feed",
    "fillable",
    "greedy_continuation",
    "latency",
    "log_softmax",
    "next_token_agreement",
    "perplexity",
    "plan",
    "prefill_latency",
    "reduce_logits",
    "section",
]

DEFAULT_DECODE_TOKENS = 16  # timed when the recipe generates no continuation


def _ratio(timings: Any, names: list[str]) -> dict[str, float] | None:
    return timings.speedup(names[0], names[1]).as_dict() if len(names) > 1 else None


def latency(
    sessions: dict[str, Any],
    signature: Signature,
    tokens: TokenPlan | None,
    dataset: Dataset,
    indices: np.ndarray,
    *,
    budget_s: float,
) -> tuple[dict[str, Any], list[str]]:
    """The report's token latency, per session (``baseline`` first, then ``optimized`` when it differs):
    prefill and decode at batch 1 for a decoder that can generate, per-length latency for an encoder."""
    names = list(sessions)
    ids = dataset.arrays[signature.input_ids]
    if tokens is not None and signature.generates:
        usable = tokens.prompts if len(tokens.prompts) else indices
        row = ids[int(usable[0])]
        prompt = tokens.prompt_length
        count = tokens.layout.continuation or min(DEFAULT_DECODE_TOKENS, len(row) - prompt)
        prefill = prefill_latency(sessions, signature, row[None, :prompt], budget_s=budget_s)
        decode = decode_latency(sessions, signature, row, prompt, count, budget_s=budget_s)
        per_model = {
            name: {
                "prompt_length": prompt,
                "decode_tokens": count,
                "kv_cache": bool(signature.cache),
                "prefill_ms_p50": prefill[name].p50_ms,
                "decode_ms_per_token_p50": decode[name].p50_ms / count,
                "decode_tokens_per_s": count * 1000.0 / decode[name].p50_ms,
            }
            for name in names
        }
        return {
            "latency": per_model,
            "prefill_speedup": _ratio(prefill, names),
            "decode_speedup": _ratio(decode, names),
        }, []
    if tokens is None and not signature.decoder and not signature.other_inputs:
        rows, notes = encoder_latency(sessions, signature, ids[indices], budget_s=budget_s)
        return {"encoder_latency": rows}, notes
    return {}, []


def section(
    signature: Signature,
    tokens: TokenPlan | None,
    metrics: dict[str, Any] | None,
    timed: dict[str, Any],
    *,
    sequences: int,
    notes: list[str],
) -> dict[str, Any]:
    """The report's ``language_model`` block: what the model is, the token metrics of the result against the
    input (``metrics``: the logits output's, from the verdict), and ``timed`` (``latency``'s first value, with
    ``optimized`` missing when the result is the input: then both sides are the same measurement)."""
    per_model = timed.get("latency", {})
    metric = (metrics or {}).get
    block: dict[str, Any] = {
        **signature.describe(),
        "sequences": sequences,
        **(tokens.describe() if tokens is not None else {}),
        "next_token_agreement": metric("next_token_agreement"),
        "perplexity_baseline": metric("perplexity_baseline"),
        "perplexity_optimized": metric("perplexity"),
        "perplexity_increase": metric("perplexity_increase"),
        "continuation_agreement": metric("continuation_agreement"),
        "continuation_prefix_agreement": metric("continuation_prefix_agreement"),
        "baseline_latency": per_model.get("baseline"),
        "optimized_latency": per_model.get("optimized", per_model.get("baseline")),
        "prefill_speedup": timed.get("prefill_speedup"),
        "decode_speedup": timed.get("decode_speedup"),
        "encoder_latency": [
            {
                "sequence_length": row["sequence_length"],
                "baseline_ms_p50": row["latency_ms_p50"]["baseline"],
                "optimized_ms_p50": row["latency_ms_p50"].get("optimized", row["latency_ms_p50"]["baseline"]),
                "speedup": row.get("speedup") or evaluate.UNCHANGED.as_dict(),
            }
            for row in timed.get("encoder_latency", [])
        ],
        "notes": notes,
    }
    if per_model and "optimized" not in per_model:  # the result is the input: the same measurement, exactly 1
        block["prefill_speedup"] = block["decode_speedup"] = evaluate.UNCHANGED.as_dict()
    return block
