"""``.npz`` datasets: one array per model input plus optional ``labels``; no pickles, no zip bombs."""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from app.core.errors import InvalidDataset, PayloadTooLarge
from app.core.safety.zipsafe import safe_members
from app.core.schemas.tensors import TensorSpec

NAME = re.compile(r"^[A-Za-z0-9_.:/\-]{1,255}$")
NAN_SCAN_CHUNK = 1 << 22  # elements per pass when counting NaN/Inf
LABEL_NAMES = "label_names"  # optional class names (strings), one per class id: not a model input
MAX_LABEL_NAMES, MAX_LABEL_NAME_CHARS = 10_000, 200
MIN_PER_CLASS = 2  # a class needs a sample on each side of a split (train / validate, calibrate / evaluate)
IMBALANCE_RATIO = 10.0  # the largest class this many times the smallest: a warning


class ArraySpec(TensorSpec):
    """A dataset array: its signature, and for integer arrays the smallest and largest value (token ids and class
    ids are checked against the model when a job is created; datasets stored before these were kept have none)."""

    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    arrays: list[ArraySpec]
    num_samples: int
    has_labels: bool
    warnings: list[str] = field(default_factory=list)


def _count_non_finite(array: np.ndarray) -> tuple[int, int]:
    flat = array.reshape(-1)
    nan = inf = 0
    for start in range(0, flat.size, NAN_SCAN_CHUNK):
        chunk = flat[start : start + NAN_SCAN_CHUNK]
        nan += int(np.isnan(chunk).sum())
        inf += int(np.isinf(chunk).sum())
    return nan, inf


def _read_npy_header(handle: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """The shape, dtype and header length in bytes of the ``.npy`` stream in ``handle`` (read no further)."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    return shape, dtype, handle.tell()


def _vet_array_sizes(path: Path, members: list[zipfile.ZipInfo], *, max_uncompressed_bytes: int) -> None:
    """Check each member's ``.npy`` header against its real size before numpy allocates anything.

    numpy allocates ``prod(shape) * itemsize`` bytes up front, so a header declaring 16 TiB over a few
    bytes of data would end in MemoryError: refuse it here (PayloadTooLarge past the limit, else InvalidDataset).
    """
    with zipfile.ZipFile(path) as archive:
        for info in members:
            name = info.filename.removesuffix(".npy")
            try:
                with archive.open(info) as handle:
                    shape, dtype, header_bytes = _read_npy_header(handle)
            except (ValueError, TypeError, EOFError, OSError, RecursionError, zipfile.BadZipFile) as exc:
                raise InvalidDataset(f"array {name!r} is not a valid .npy array: {exc}") from None
            if dtype.hasobject:
                raise InvalidDataset(
                    f"array {name!r} has dtype object (pickled Python objects); only numeric arrays are accepted"
                )
            if any(dim < 0 for dim in shape):
                raise InvalidDataset(f"array {name!r} declares a negative dimension in shape {list(shape)}")
            declared = math.prod(shape) * dtype.itemsize
            if declared > max_uncompressed_bytes:
                raise PayloadTooLarge(
                    f"array {name!r} declares shape {list(shape)} of {dtype} ({declared} bytes); "
                    f"datasets may expand to at most {max_uncompressed_bytes} bytes"
                )
            if declared != info.file_size - header_bytes:
                raise InvalidDataset(
                    f"array {name!r} declares shape {list(shape)} of {dtype} ({declared} bytes) "
                    f"but holds {info.file_size - header_bytes} bytes of data"
                )


def _check_label_names(names: np.ndarray) -> None:
    """``label_names``: a 1-D string array (class id -> name), a few short names."""
    if names.dtype.kind not in "US" or names.ndim != 1:
        raise InvalidDataset(
            f"array {LABEL_NAMES!r} must be a 1-D string array (one name per class id), not {names.dtype} "
            f"{list(names.shape)}"
        )
    if len(names) > MAX_LABEL_NAMES or names.dtype.itemsize > MAX_LABEL_NAME_CHARS * 4:
        raise InvalidDataset(
            f"array {LABEL_NAMES!r} may hold at most {MAX_LABEL_NAMES} names of {MAX_LABEL_NAME_CHARS} characters"
        )


def _check_class_labels(labels: np.ndarray) -> list[str]:
    """Integer class ids (1-D): none negative, every class at least twice; strong imbalance is a warning.

    Float labels are regression targets: nothing to count. Raises InvalidDataset naming the labels.
    """
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or not len(labels):
        return []
    if labels.dtype.kind == "i" and int(labels.min()) < 0:
        negative = np.flatnonzero(labels < 0)
        raise InvalidDataset(
            f"array 'labels' holds negative class ids ({int(labels.min())} at sample {int(negative[0])}, "
            f"{len(negative)} in all); class ids count from 0",
            errors=[{"field": "arrays.labels", "message": f"{len(negative)} negative class id(s)"}],
        )
    classes, counts = np.unique(labels, return_counts=True)
    rare = [(int(c), int(n)) for c, n in zip(classes, counts, strict=True) if n < MIN_PER_CLASS]
    if rare and len(classes) < len(labels):  # all-distinct ids are not classes (e.g. an index): leave them be
        listed = ", ".join(f"class {c}: {n} sample" for c, n in rare[:10]) + (" …" if len(rare) > 10 else "")
        raise InvalidDataset(
            f"array 'labels' has {len(rare)} class(es) with fewer than {MIN_PER_CLASS} samples ({listed}); "
            "each class needs samples to train and to judge on: add samples or drop the class",
            errors=[{"field": "arrays.labels", "message": f"{len(rare)} class(es) with fewer than 2 samples"}],
        )
    largest, smallest = int(counts.max()), int(counts.min())
    if len(classes) > 1 and largest >= IMBALANCE_RATIO * smallest:
        return [
            f"labels are strongly imbalanced: class {int(classes[counts.argmax()])} has {largest} samples, class "
            f"{int(classes[counts.argmin()])} {smallest}; accuracy mostly measures the large classes"
        ]
    return []


def inspect_dataset(path: Path, *, max_uncompressed_bytes: int) -> DatasetInfo:
    """Validate an ``.npz`` and describe its arrays. Raises InvalidDataset or PayloadTooLarge (zip bomb)."""
    members = safe_members(
        path, max_uncompressed_bytes=max_uncompressed_bytes, error=InvalidDataset, too_large=PayloadTooLarge
    )
    if not members:
        raise InvalidDataset("the .npz holds no arrays")
    for info in members:
        if not info.filename.endswith(".npy"):
            raise InvalidDataset(f"member {info.filename!r} is not an .npy array; save the dataset with np.savez")
    _vet_array_sizes(path, members, max_uncompressed_bytes=max_uncompressed_bytes)
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                if not NAME.match(name):
                    raise InvalidDataset(f"array name {name!r} is not allowed (letters, digits, _ . : / - only)")
                arrays[name] = archive[name]
    except InvalidDataset:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise InvalidDataset(
                "an array has dtype object (pickled Python objects); only numeric arrays are accepted"
            ) from None
        raise InvalidDataset(f"not a valid .npz: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise InvalidDataset(f"not a valid .npz: {exc}") from None
    warnings: list[str] = []
    label_names = arrays.pop(LABEL_NAMES, None)
    if label_names is not None:
        _check_label_names(label_names)
    lengths = set()
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise InvalidDataset(f"array {name!r} has dtype {array.dtype}; only numeric arrays are accepted")
        if array.ndim == 0:
            raise InvalidDataset(f"array {name!r} is a scalar; the first axis must index samples")
        lengths.add(array.shape[0])
        if array.dtype.kind == "f":
            nan, inf = _count_non_finite(array)
            if nan or inf:
                warnings.append(f"array {name!r} has {nan} NaN and {inf} Inf values")
    labels = arrays.get("labels")
    inputs = {a.shape[0] for n, a in arrays.items() if n != "labels"}
    if labels is not None and len(inputs) == 1 and labels.shape[0] not in inputs:
        samples = inputs.pop()
        raise InvalidDataset(
            f"array 'labels' has {labels.shape[0]} entries but the inputs have {samples} samples: one label per sample",
            errors=[{"field": "arrays.labels", "message": f"{labels.shape[0]} labels for {samples} samples"}],
        )
    if len(lengths) != 1:
        detail = ", ".join(f"{n!r}: {a.shape[0]}" for n, a in arrays.items())
        raise InvalidDataset(f"arrays disagree on the number of samples (first axis): {detail}")
    num_samples = lengths.pop()
    if num_samples < 1:
        raise InvalidDataset("the dataset has no samples")
    if labels is not None:
        warnings.extend(_check_class_labels(labels))
        if labels.ndim > 2:
            raise InvalidDataset(f"labels must be 1-D class ids or 2-D targets, not shape {list(labels.shape)}")
        if labels.dtype.kind == "f" and labels.ndim == 1 and np.all(np.mod(labels, 1) == 0):
            warnings.append("labels are floats holding whole numbers; send integer class ids for classification")
    if label_names is not None:
        arrays[LABEL_NAMES] = label_names
    specs = [_spec(name, array) for name, array in arrays.items()]
    return DatasetInfo(specs, int(num_samples), labels is not None, warnings)


def _spec(name: str, array: np.ndarray) -> ArraySpec:
    counted = array.dtype.kind in "iu" and array.size > 0
    return ArraySpec(
        name=name,
        dtype=str(array.dtype),
        shape=list(array.shape),
        min_value=int(array.min()) if counted else None,
        max_value=int(array.max()) if counted else None,
    )
