"""Running a language model: the feeds it needs, the evaluation pass over the dataset, greedy decoding.

With a KV cache, decoding prefills the prompt with an empty past (length 0), then feeds one token per step
with its own ``present.*`` back as ``past_key_values.*``; without one, it runs the growing sequence again at
every step. Both give the same tokens for the same weights (tests/engine/test_lm_eval.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.schemas.recipe import Evaluation
from worker.engine.data import Dataset
from worker.engine.errors import EngineError
from worker.engine.lm_eval.metrics import ABSENT, Layout, reduce_logits
from worker.engine.lm_eval.signature import Signature
from worker.engine.progress import Reporter
from worker.engine.rollout import run_session

DECODE_BATCH = 8  # prompts decoded together when the batch axis is dynamic


def feed(
    signature: Signature, ids: np.ndarray, *, past: dict[str, np.ndarray] | None = None, past_length: int = 0
) -> dict[str, np.ndarray]:
    """The whole feed for ``ids`` [batch, length] after ``past_length`` tokens: every mask position real, positions
    counted from the past, the cache given (or empty)."""
    batch, length = ids.shape
    dtypes = signature.feed_dtypes
    built = {signature.input_ids: ids.astype(signature.ids_dtype)}
    if signature.attention_mask:
        built[signature.attention_mask] = np.ones((batch, past_length + length), dtypes[signature.attention_mask])
    if signature.position_ids:
        positions = np.arange(past_length, past_length + length)
        built[signature.position_ids] = np.tile(positions, (batch, 1)).astype(dtypes[signature.position_ids])
    if signature.token_type_ids:
        built[signature.token_type_ids] = np.zeros((batch, length), dtypes[signature.token_type_ids])
    for name, (shape, dtype) in signature.empty_cache.items():
        built[name] = past[name] if past is not None else np.zeros((batch, *shape[1:]), dtype)
    return built


def _positions(session: Any, signature: Signature) -> tuple[int, dict[str, int]]:
    names = [o.name for o in session.get_outputs()]
    assert signature.logits is not None
    return names.index(signature.logits), {past: names.index(present) for past, present in signature.cache.items()}


def greedy_continuation(
    session: Any, signature: Signature, prompts: np.ndarray, tokens: int, *, use_cache: bool = True
) -> np.ndarray:
    """The ``tokens`` ids [prompts, tokens] each prompt (ids [prompts, length], all real tokens) continues with,
    decoding greedily: through the KV cache when the model has one and ``use_cache``, else by re-running the
    growing sequence (with an empty past, for a model with a cache)."""
    logits_at, present_at = _positions(session, signature)
    cached = use_cache and bool(signature.cache)
    size = signature.fixed_batch or DECODE_BATCH
    generated = []
    for start in range(0, len(prompts), size):
        chunk = prompts[start : start + size]
        rows = len(chunk)
        if signature.fixed_batch and rows < size:  # a fixed batch axis: fill it with copies, keep the real rows
            chunk = np.resize(chunk, (size, chunk.shape[1]))
        sequence = chunk.astype(np.int64)
        outs = run_session(session, feed(signature, sequence))
        steps = []
        for step in range(tokens):
            token = np.asarray(outs[logits_at])[:, -1].argmax(axis=-1)[:, None]
            steps.append(token)
            if step == tokens - 1:
                break
            if cached:
                past = {name: np.asarray(outs[at]) for name, at in present_at.items()}
                length = sequence.shape[1] + step
                outs = run_session(session, feed(signature, token, past=past, past_length=length))
            else:
                sequence = np.concatenate([sequence, token], axis=1)
                outs = run_session(session, feed(signature, sequence))
        generated.append(np.concatenate(steps, axis=1)[:rows] if steps else np.zeros((rows, 0), np.int64))
    return np.concatenate(generated) if generated else np.zeros((0, tokens), np.int64)


@dataclass(frozen=True)
class TokenPlan:
    """How a language model's evaluation data is run and reduced (rollout.Plan carries it as ``tokens``)."""

    signature: Signature
    layout: Layout
    prompt_length: int
    prompts: np.ndarray  # dataset indices of the sequences whose first prompt_length tokens prompt a continuation
    other_outputs: tuple[str, ...]  # outputs besides the logits and the cache, judged as usual

    @property
    def output_names(self) -> list[str]:
        assert self.signature.logits is not None
        return [self.signature.logits, *self.other_outputs]

    def outputs(
        self, session: Any, dataset: Dataset, indices: np.ndarray, batch_size: int, reporter: Reporter | None = None
    ) -> list[np.ndarray]:
        """The packed token metrics of the logits output (``Layout``), then every other output, over ``indices``."""
        names = [o.name for o in session.get_outputs()]
        logits_at = names.index(self.output_names[0])
        others_at = [names.index(name) for name in self.other_outputs]
        ids_name, mask_name = self.signature.input_ids, self.signature.attention_mask
        total = max(1, len(indices) + len(self.prompts))
        reduced: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        others: list[list[np.ndarray]] = [[] for _ in others_at]
        done = 0
        for chunk, chunk_feed in dataset.batches(indices, batch_size):
            outs = run_session(session, chunk_feed)
            mask = chunk_feed.get(mask_name) if mask_name else None
            reduced.append(reduce_logits(np.asarray(outs[logits_at]), chunk_feed[ids_name], mask))
            for bucket, at in zip(others, others_at, strict=True):
                bucket.append(np.asarray(outs[at]))
            done += len(chunk)
            if reporter is not None:
                reporter.update(done / total)
        predicted, target, counted = (np.concatenate(part) for part in zip(*reduced, strict=True))
        continuation = np.full((len(indices), self.layout.continuation), ABSENT, np.int64)
        chosen = np.isin(indices, self.prompts)
        if self.layout.continuation and chosen.any():
            prompts = dataset.arrays[ids_name][indices[chosen], : self.prompt_length]
            continuation[chosen] = greedy_continuation(session, self.signature, prompts, self.layout.continuation)
        if reporter is not None:
            reporter.update(1.0)
        return [self.layout.pack(predicted, target, counted, continuation), *(np.concatenate(b) for b in others)]

    def describe(self) -> dict[str, Any]:
        return {
            "tokens_per_sequence": self.layout.tokens,
            "prompt_length": self.prompt_length,
            "continuation_tokens": self.layout.continuation,
            "prompts": int(len(self.prompts)),
        }


def plan(
    signature: Signature,
    dataset: Dataset,
    indices: np.ndarray,
    config: Evaluation,
    output_names: list[str],
) -> tuple[TokenPlan, list[str]]:
    """The plan for a language model's evaluation sequences, and notes on what was cut short (warnings)."""
    ids_name = signature.input_ids
    if dataset.per_sample.get(ids_name, False) or dataset.arrays[ids_name].ndim != 2:
        raise EngineError(
            "dataset_mismatch",
            f"a language model's {ids_name!r} must be one row of token ids per sequence ([sequences, tokens]), "
            f"not shape {list(dataset.arrays[ids_name].shape)}",
        )
    tokens = int(dataset.arrays[ids_name].shape[1])
    if tokens < 2:
        raise EngineError("dataset_mismatch", f"{ids_name!r} holds sequences of {tokens} token: at least 2 are needed")
    notes = []
    prompt_length = min(config.prompt_length, tokens - 1)
    continuation = min(config.continuation_tokens, tokens - prompt_length) if signature.generates else 0
    if prompt_length < config.prompt_length:
        notes.append(f"evaluation.prompt_length {config.prompt_length} is cut to {prompt_length}: the sequences "
                     f"hold {tokens} tokens")  # fmt: skip
    if signature.generates and continuation < config.continuation_tokens:
        notes.append(
            f"greedy continuations are {continuation} tokens, not {config.continuation_tokens}: a prompt of "
            f"{prompt_length} and its continuation stay within the dataset's {tokens} tokens per sequence (the "
            "longest the model is known to take)"
        )
    if not signature.generates and config.continuation_tokens:
        notes.append(
            "no greedy continuation: the model has inputs besides token ids, mask, positions and cache ("
            + ", ".join(signature.other_inputs)
            + ") that decoding cannot fill in"
        )
    mask = dataset.arrays.get(signature.attention_mask) if signature.attention_mask else None
    usable = indices if mask is None else indices[mask[indices, :prompt_length].all(axis=1)]
    prompts = usable[: config.continuation_prompts] if continuation else usable[:0]
    cache_outputs = set(signature.cache.values())
    others = tuple(n for n in output_names if n != signature.logits and n not in cache_outputs)
    assert signature.logits is not None
    layout = Layout(signature.logits, tokens, continuation)
    return TokenPlan(signature, layout, prompt_length, np.sort(prompts), others), notes


def fillable(signature: Signature) -> set[str]:
    """Inputs the evaluation fills in when the dataset has no array for them: the cache (always empty at first),
    and an all-real attention mask, positions 0..T-1, token types 0."""
    roles = (signature.attention_mask, signature.position_ids, signature.token_type_ids)
    return set(signature.cache) | {name for name in roles if name}


def complete(dataset: Dataset, signature: Signature) -> None:
    """Add what the dataset leaves out (``fillable``): an empty past (length 0) for every cache input, so every
    feed prefills from nothing, and the mask, positions and token types of unpadded sequences."""
    ids = dataset.arrays[signature.input_ids]
    dtypes = signature.feed_dtypes
    for cache_input, (shape, dtype) in signature.empty_cache.items():
        dataset.arrays[cache_input] = np.zeros((dataset.num_samples, *shape[1:]), dtype)  # no memory: an axis is 0
        dataset.per_sample[cache_input] = False
    filled: list[tuple[str | None, Callable[[np.dtype], np.ndarray]]] = [
        (signature.attention_mask, lambda dtype: np.ones(ids.shape, dtype)),
        (signature.position_ids, lambda dtype: np.broadcast_to(np.arange(ids.shape[-1]), ids.shape).astype(dtype)),
        (signature.token_type_ids, lambda dtype: np.zeros(ids.shape, dtype)),
    ]
    for name, make in filled:
        if name is not None and name not in dataset.arrays:
            dataset.arrays[name] = make(dtypes[name])
            dataset.per_sample[name] = dataset.per_sample[signature.input_ids]
