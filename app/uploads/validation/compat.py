"""Does a dataset fit a model? Checked when a job is created, with the exact mismatch named.

A token model (an integer ``input_ids`` input) needs no arrays for what its evaluation fills in
(worker/engine/lm_eval, whose rules these mirror): a language model's KV cache (``past_key_values.*`` inputs
paired with ``present.*`` outputs start empty), and an all-real ``attention_mask``, ``position_ids`` and
``token_type_ids``. Its token ids must lie inside the vocabulary (the width of its [batch, sequence,
vocabulary] output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import IncompatibleDataset
from app.core.schemas import tokens
from app.core.schemas.recipe import Evaluation
from app.core.schemas.tensors import TensorSpec
from app.uploads.validation.npz import ArraySpec, DatasetInfo
from app.uploads.validation.onnx_model import ModelInfo

LABELS = "labels"
SEQUENCE_ID = "sequence_id"  # marks the ordered sequences of a stateful model's data; never fed to the model
LABEL_NAMES = "label_names"  # optional class names, one per class id; never fed to the model
RESERVED_ARRAYS = (LABELS, SEQUENCE_ID, LABEL_NAMES)
INPUT_IDS = tokens.INPUT_IDS


def _dims_match(expected: list[Any], actual: list[Any]) -> bool:
    return len(expected) == len(actual) and all(
        not isinstance(e, int) or e == a for e, a in zip(expected, actual, strict=True)
    )


def _shape_problem(spec: TensorSpec, array: TensorSpec) -> str | None:
    """None when ``array`` can feed ``spec``: same rank (split along the batch axis) or rank+1 (a feed per sample)."""
    expected, actual = list(spec.shape), list(array.shape)
    if not expected and spec.dtype == "unknown":
        return None
    if len(actual) == len(expected):
        if _dims_match(expected[1:], actual[1:]):
            return None
    elif len(actual) == len(expected) + 1:
        if _dims_match(expected, actual[1:]):
            return None
    else:
        return (
            f"array {array.name!r} has shape {actual}, input {spec.name!r} expects {expected} "
            f"(rank {len(expected)} to split along the batch axis, "
            f"or rank {len(expected) + 1} with one feed per sample)"
        )
    return f"array {array.name!r} has shape {actual}, which does not fit input {spec.name!r} of shape {expected}"


def _is_integer(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "iu"
    except TypeError:
        return False


def _sequence_id_problem(array: TensorSpec, num_samples: int) -> str | None:
    """None when ``sequence_id`` holds one integer per sample (shape [num_samples])."""
    if _is_integer(array.dtype) and array.shape == [num_samples]:
        return None
    return (
        f"array {SEQUENCE_ID!r} marks the ordered sequences of a stateful model and must hold one integer per "
        f"sample (shape [{num_samples}], e.g. int64), not {array.dtype} of shape {list(array.shape)}"
    )


def _vocabulary_output(model: ModelInfo) -> TensorSpec | None:
    """A language model's [batch, sequence, vocabulary] float output (app/core/schemas/tokens.py; the embedding table's
    size is the engine's to read)."""
    return tokens.vocabulary_output(model.outputs, None, lambda o: o.dtype.startswith(("float", "bfloat")))


def _token_ids(model: ModelInfo, evaluation: Evaluation) -> TensorSpec | None:
    """The integer ``input_ids`` input of a token model (None: not one, or the recipe says ``task: other``)."""
    if evaluation.task == "other":
        return None
    ids = next((s for s in model.inputs if s.name == INPUT_IDS), None)
    return ids if ids is not None and _is_integer(ids.dtype) else None


def filled_inputs(model: ModelInfo, evaluation: Evaluation | None = None) -> set[str]:
    """Inputs a token model's evaluation fills in when the dataset has no array for them."""
    evaluation = evaluation or Evaluation()
    if _token_ids(model, evaluation) is None:
        return set()
    filled = {s.name for s in model.inputs if s.name in tokens.FILLED_FOR_TOKENS}
    if _vocabulary_output(model) is None or evaluation.state:  # an encoder, or a rollout the recipe asked for
        return filled
    return filled | set(tokens.cache_pairs(model.inputs, model.outputs))


def _token_id_errors(model: ModelInfo, arrays: dict[str, ArraySpec], evaluation: Evaluation) -> list[dict[str, str]]:
    """Token ids outside the vocabulary (negative, or at least the width of the vocabulary output)."""
    ids, array = _token_ids(model, evaluation), arrays.get(INPUT_IDS)
    if ids is None or array is None or array.min_value is None or array.max_value is None:
        return []
    field = f"arrays.{INPUT_IDS}"
    if array.min_value < 0:
        message = f"array {INPUT_IDS!r} holds negative token id {array.min_value}; token ids count from 0"
        return [{"field": field, "message": message}]
    logits = _vocabulary_output(model)
    # only an output named like logits surely spans the vocabulary (the engine also reads the embedding table)
    vocab = logits.shape[-1] if logits is not None and "logit" in logits.name.lower() else None
    if logits is not None and isinstance(vocab, int) and array.max_value >= vocab:
        message = (
            f"array {INPUT_IDS!r} holds token id {array.max_value}, but the model's vocabulary has {vocab} tokens "
            f"(ids 0..{vocab - 1}: output {logits.name!r} is {list(logits.shape)}); the dataset was tokenized for "
            "another vocabulary"
        )
        return [{"field": field, "message": message}]
    return []


def check_compatible(model: ModelInfo, dataset: DatasetInfo, evaluation: Evaluation | None = None) -> None:
    """Raise IncompatibleDataset listing every mismatch between the model's inputs and the dataset's arrays.

    ``evaluation`` is the recipe's (its ``task`` and ``state`` decide whether a token model's inputs are filled in).
    """
    evaluation = evaluation or Evaluation()
    arrays = {a.name: a for a in dataset.arrays}
    filled = filled_inputs(model, evaluation)
    errors: list[dict[str, str]] = []
    for spec in model.inputs:
        array = arrays.get(spec.name)
        if array is None and spec.name in filled:
            continue
        if array is None:
            errors.append(
                {
                    "field": f"arrays.{spec.name}",
                    "message": f"the dataset has no array for model input {spec.name!r} "
                    f"(arrays: {', '.join(sorted(arrays)) or 'none'})",
                }
            )
            continue
        if spec.dtype != "unknown" and array.dtype != spec.dtype:
            errors.append(
                {
                    "field": f"arrays.{spec.name}",
                    "message": f"array {spec.name!r} is {array.dtype}, input {spec.name!r} expects {spec.dtype} "
                    f"(cast with arr.astype(np.{spec.dtype}))",
                }
            )
            continue
        problem = _shape_problem(spec, array)
        if problem:
            errors.append({"field": f"arrays.{spec.name}", "message": problem})
    if SEQUENCE_ID in {s.name for s in model.inputs}:
        errors.append(
            {
                "field": f"arrays.{SEQUENCE_ID}",
                "message": f"the model has an input named {SEQUENCE_ID!r}, a dataset array name reserved for "
                "marking sequences; rename the model input",
            }
        )
    elif SEQUENCE_ID in arrays:
        problem = _sequence_id_problem(arrays[SEQUENCE_ID], dataset.num_samples)
        if problem:
            errors.append({"field": f"arrays.{SEQUENCE_ID}", "message": problem})
    errors.extend(_token_id_errors(model, arrays, evaluation))
    extra = sorted(set(arrays) - {s.name for s in model.inputs} - set(RESERVED_ARRAYS))
    if extra:
        errors.append(
            {
                "field": "arrays",
                "message": f"array(s) {', '.join(map(repr, extra))} match no model input "
                f"(inputs: {', '.join(s.name for s in model.inputs)}; reserved: {', '.join(RESERVED_ARRAYS)})",
            }
        )
    if errors:
        raise IncompatibleDataset(
            "the dataset does not fit the model: " + "; ".join(e["message"] for e in errors), errors=errors
        )
