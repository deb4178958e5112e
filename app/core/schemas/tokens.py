"""What makes a model a token model, read from its signature alone: the one set of rules that job creation
(app/uploads/validation/compat.py) and the engine (worker/engine/lm_eval, rollout) both apply.

- ``input_ids``: the integer token input; ``attention_mask``, ``position_ids`` and ``token_type_ids`` are filled
  in by the evaluation when the dataset has no array for them.
- The vocabulary output [batch, sequence, vocabulary]: the rank-3 float output named ``logits``, else the only one
  as wide as the token-embedding table (where that is known), else the only one not named like features (a
  BERT's ``last_hidden_state`` belongs to an encoder).
- The KV cache: inputs ``past_key_values.X`` (or ``past.X``) paired with outputs ``present.X`` of the same dtype
  and rank; the evaluation feeds them itself, starting empty.

Specs are anything with ``name``, ``dtype`` and ``shape`` (the app's ``TensorSpec``, the engine's ``InputSpec``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

INPUT_IDS = "input_ids"
LOGITS = "logits"
ATTENTION_MASK = "attention_mask"
POSITION_IDS = "position_ids"
TOKEN_TYPE_IDS = "token_type_ids"
FILLED_FOR_TOKENS = (ATTENTION_MASK, POSITION_IDS, TOKEN_TYPE_IDS)  # all real, 0..T-1, 0 when absent
# Names that say an output holds features, not scores (also how a wide output is told from a classifier's).
FEATURE_NAME = re.compile(r"embed|feature|hidden|state|pool|encod|vector|latent|token_emb", re.IGNORECASE)
_KV_NAME = re.compile(r"^(past_key_values|past|present)[._](.+)$")
_CACHE_NAME = re.compile(r"^(past_key_values|past)[._](.+)$")
_PRESENT_NAME = re.compile(r"^present[._](.+)$")


class Spec(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dtype(self) -> Any: ...

    @property
    def shape(self) -> Sequence[Any]: ...


S = TypeVar("S", bound=Spec)


def kv_key(name: str) -> str | None:
    """``past_key_values.0.key``, ``past.0.key`` and ``present.0.key`` share the key ``0.key``."""
    match = _KV_NAME.match(name)
    return match.group(2) if match else None


def cache_pairs(inputs: Sequence[Spec], outputs: Sequence[Spec]) -> dict[str, str]:
    """``past_key_values.X`` (or ``past.X``) input -> ``present.X`` output, where the two have one dtype and rank."""
    presents = {match.group(1): o for o in outputs if (match := _PRESENT_NAME.match(o.name))}
    pairs = {}
    for spec in inputs:
        match = _CACHE_NAME.match(spec.name)
        present = presents.get(match.group(2)) if match else None
        if present is not None and present.dtype == spec.dtype and len(present.shape) == len(spec.shape):
            pairs[spec.name] = present.name
    return pairs


def vocabulary_output(outputs: Sequence[S], rows: int | None, is_float: Callable[[S], bool]) -> S | None:
    """The [batch, sequence, vocabulary] output (see the module's docstring); ``rows``: the token-embedding
    table's first dimension, when known."""
    candidates = [o for o in outputs if len(o.shape) == 3 and is_float(o)]
    named = [o for o in candidates if o.name == LOGITS]
    if named:
        return named[0]

    def vocabulary_wide(spec: S) -> bool:
        width = spec.shape[-1]
        if isinstance(width, int) and rows is not None:
            return width == rows
        return not FEATURE_NAME.search(spec.name)

    fitting = [o for o in candidates if vocabulary_wide(o)]
    return fitting[0] if len(fitting) == 1 else None
