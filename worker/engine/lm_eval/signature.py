"""Is this a token model, and how is it fed? Read from the ONNX graph's signature before any data is loaded.

A *language model* (decoder) has an integer ``input_ids`` input and a rank-3 float output [batch, sequence,
vocabulary] (named ``logits``, or the only such output). Its KV cache, when it has one, is the pairs of inputs
``past_key_values.{i}.key/value`` [batch, heads, past, head_dim] and outputs ``present.{i}.key/value``: the
evaluation feeds an empty past (length 0) to prefill and then its own ``present.*`` back, so a dataset never
holds arrays for them. An *encoder* has ``input_ids`` but no vocabulary output (e.g. a BERT's
``last_hidden_state``): it is judged like any model, and timed per sequence length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.schemas import tokens
from worker.engine.errors import EngineError
from worker.engine.modelio import InputSpec

INPUT_IDS, LOGITS = tokens.INPUT_IDS, tokens.LOGITS
ATTENTION_MASK, POSITION_IDS, TOKEN_TYPE_IDS = tokens.ATTENTION_MASK, tokens.POSITION_IDS, tokens.TOKEN_TYPE_IDS


@dataclass(frozen=True)
class Signature:
    """How a token model is fed and read. ``logits`` is None for an encoder (no vocabulary output)."""

    input_ids: str
    ids_dtype: np.dtype
    logits: str | None
    vocab_size: int | None  # the logits width, or the token-embedding table's rows; None when neither is fixed
    attention_mask: str | None = None
    position_ids: str | None = None
    token_type_ids: str | None = None
    cache: dict[str, str] = field(default_factory=dict)  # past input -> present output
    empty_cache: dict[str, tuple[tuple[int, ...], np.dtype]] = field(default_factory=dict)  # at batch 1, past 0
    feed_dtypes: dict[str, np.dtype] = field(default_factory=dict)  # every input's dtype
    other_inputs: tuple[str, ...] = ()  # inputs of no known role: decoding needs the dataset's values for them
    fixed_batch: int | None = None  # the batch axis of input_ids, when the model fixes it

    @property
    def decoder(self) -> bool:
        return self.logits is not None

    @property
    def generates(self) -> bool:
        """Can greedy decoding build every feed itself (no inputs of unknown role)?"""
        return self.decoder and not self.other_inputs

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "decoder" if self.decoder else "encoder",
            "input_ids": self.input_ids,
            "logits": self.logits,
            "vocab_size": self.vocab_size,
            "attention_mask": self.attention_mask,
            "kv_cache": bool(self.cache),
            "cache_pairs": len(self.cache),
        }


def cache_pairs(inputs: list[InputSpec], outputs: list[InputSpec]) -> dict[str, str]:
    """``past_key_values.X`` (or ``past.X``) -> ``present.X``, where the output has the input's dtype and rank."""
    return tokens.cache_pairs(inputs, outputs)


def _vocabulary_output(outputs: list[InputSpec], rows: int | None) -> InputSpec | None:
    """The rank-3 float output [batch, sequence, vocabulary] (app/core/schemas/tokens.py ``vocabulary_output``)."""
    return tokens.vocabulary_output(outputs, rows, lambda spec: spec.dtype.kind == "f")


def embedding_rows(model: Any, input_ids: str) -> int | None:
    """The first dimension of the table the token ids index (a Gather on ``input_ids``, or on a Cast of it)."""
    graph = model.graph
    names = {input_ids}
    for node in graph.node:
        if node.op_type == "Cast" and node.input and node.input[0] in names:
            names.update(node.output)
    tables = {init.name: list(init.dims) for init in graph.initializer}
    for node in graph.node:
        if node.op_type in ("Gather", "GatherBlockQuantized") and len(node.input) > 1 and node.input[1] in names:
            dims = tables.get(node.input[0])
            if dims:
                return int(dims[0])
    return None


def _empty_cache(spec: InputSpec) -> tuple[tuple[int, ...], np.dtype]:
    """The shape of an empty past for ``spec``: batch 1, the one symbolic axis after it 0, every other axis fixed."""
    symbolic = [axis for axis, dim in enumerate(spec.shape) if axis > 0 and not isinstance(dim, int)]
    if len(symbolic) != 1:
        raise EngineError(
            "invalid_model",
            f"cache input {spec.name!r} has shape {spec.shape}: an empty past needs one dynamic length axis and "
            "every other axis (heads, head size) fixed, e.g. [batch, 4, past, 16]",
        )
    shape = tuple(
        1 if axis == 0 else 0 if axis == symbolic[0] else int(dim)  # type: ignore[arg-type]  # fixed: checked above
        for axis, dim in enumerate(spec.shape)
    )
    return shape, spec.dtype


def detect(
    model: Any, inputs: list[InputSpec], outputs: list[InputSpec], task: str, *, state_given: bool = False
) -> Signature | None:
    """The model's token signature, or None when it is not a token model (or ``task`` is ``other``).

    ``task`` is the recipe's ``evaluation.task``: ``auto`` decides from the signature, ``language_model``
    insists (EngineError when the model has no integer ``input_ids`` and vocabulary output). ``state_given``:
    the recipe names state pairs itself, so an ``auto`` model is judged by rollout as it asks, not decoded.
    """
    if task == "other":
        return None
    forced = task == "language_model"
    names = {spec.name: spec for spec in inputs}
    ids = names.get(INPUT_IDS)
    if ids is None or ids.dtype.kind not in "iu":
        if forced:
            raise EngineError(
                "invalid_recipe",
                "evaluation.task is language_model, but the model has no integer input 'input_ids' (inputs: "
                + ", ".join(f"{s.name} {s.dtype}" for s in inputs)
                + ")",
            )
        return None
    rows = embedding_rows(model, ids.name)
    logits = _vocabulary_output(outputs, rows)
    if forced and logits is None:
        raise EngineError(
            "invalid_recipe",
            "evaluation.task is language_model, but no output is [batch, sequence, vocabulary] floats (named "
            f"'logits', or the only rank-3 float output); outputs: {', '.join(o.name for o in outputs)}",
        )
    if state_given and logits is not None:
        if forced:
            raise EngineError(
                "invalid_recipe",
                "evaluation.state and evaluation.task language_model exclude each other: a language model's "
                "cache is decoded, not rolled out; leave evaluation.state unset",
            )
        return None  # the recipe asked for a rollout: judged as a stateful model, not as a token model at all
    vocab = logits.shape[-1] if logits is not None and isinstance(logits.shape[-1], int) else rows
    cache = cache_pairs(inputs, outputs) if logits is not None else {}
    roles = {ids.name, *cache, ATTENTION_MASK, POSITION_IDS, TOKEN_TYPE_IDS}
    fixed = ids.shape[0] if ids.shape and isinstance(ids.shape[0], int) and ids.shape[0] > 0 else None
    return Signature(
        input_ids=ids.name,
        ids_dtype=ids.dtype,
        logits=None if logits is None else logits.name,
        vocab_size=vocab,
        attention_mask=ATTENTION_MASK if ATTENTION_MASK in names else None,
        position_ids=POSITION_IDS if POSITION_IDS in names else None,
        token_type_ids=TOKEN_TYPE_IDS if TOKEN_TYPE_IDS in names else None,
        cache=cache,
        empty_cache={name: _empty_cache(names[name]) for name in cache},
        feed_dtypes={spec.name: spec.dtype for spec in inputs},
        other_inputs=tuple(spec.name for spec in inputs if spec.name not in roles),
        fixed_batch=fixed,
    )


def check_token_ids(ids: np.ndarray, signature: Signature) -> None:
    """EngineError ``invalid_tokens`` naming the largest id when a token id is outside the vocabulary."""
    if ids.size == 0:
        return
    vocab = signature.vocab_size
    low, high = int(ids.min()), int(ids.max())
    if low < 0:
        where = np.argwhere(ids < 0)[0]
        raise EngineError(
            "invalid_tokens",
            f"array {signature.input_ids!r} holds negative token id {low} (sample {int(where[0])}, position "
            f"{int(where[-1])}); token ids count from 0 (pad with a real token and set attention_mask to 0)",
        )
    if vocab is not None and high >= vocab:
        beyond = np.argwhere(ids >= vocab)
        where = "the width of output " + repr(signature.logits) if signature.logits else "the token-embedding table"
        raise EngineError(
            "invalid_tokens",
            f"array {signature.input_ids!r} holds token id {high} (sample {int(beyond[0][0])}, {len(beyond)} ids "
            f"in all) but the model's vocabulary has {vocab} tokens (ids 0..{vocab - 1}, {where}): the dataset "
            "was tokenized for another vocabulary",
        )
