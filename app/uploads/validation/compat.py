"""Does a dataset fit a model? Checked when a job is created, with the exact mismatch named."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import IncompatibleDataset
from app.core.schemas.tensors import TensorSpec
from app.uploads.validation.npz import DatasetInfo
from app.uploads.validation.onnx_model import ModelInfo

LABELS = "labels"
SEQUENCE_ID = "sequence_id"  # marks the ordered sequences of a stateful model's data; never fed to the model
LABEL_NAMES = "label_names"  # optional class names, one per class id; never fed to the model
RESERVED_ARRAYS = (LABELS, SEQUENCE_ID, LABEL_NAMES)


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


def check_compatible(model: ModelInfo, dataset: DatasetInfo) -> None:
    """Raise IncompatibleDataset listing every mismatch between the model's inputs and the dataset's arrays."""
    arrays = {a.name: a for a in dataset.arrays}
    errors: list[dict[str, str]] = []
    for spec in model.inputs:
        array = arrays.get(spec.name)
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
