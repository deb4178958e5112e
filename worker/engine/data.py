"""Datasets as model feeds: one array per input, split reproducibly into calibration and evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.engine.errors import EngineError
from worker.engine.modelio import InputSpec

SEQUENCE_ID = "sequence_id"  # the optional array that marks ordered sequences; not a model input
MIN_PER_CLASS = 2  # a class needs a sample on each side of a split
IMBALANCE_RATIO = 10.0  # the largest class this many times the smallest: a warning


@dataclass
class Dataset:
    """Arrays keyed by model input; ``per_sample[name]`` is True when ``arrays[name][i]`` is a whole feed."""

    arrays: dict[str, np.ndarray]
    per_sample: dict[str, bool]
    labels: np.ndarray | None
    num_samples: int
    sequence_ids: np.ndarray | None = None  # marks ordered sequences (for stateful models)
    label_names: list[str] | None = None  # the optional ``label_names`` array: class id -> name

    def batches(self, indices: np.ndarray, batch_size: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Feeds over ``indices``; inputs fed per sample force a batch of one."""
        size = 1 if any(self.per_sample.values()) else batch_size
        for start in range(0, len(indices), size):
            chunk = indices[start : start + size]
            feed = {}
            for name, array in self.arrays.items():
                # ``[i, ...]`` keeps a rank-0 feed an array: onnxruntime refuses numpy scalars
                feed[name] = array[chunk[0], ...] if self.per_sample[name] else array[chunk]
            yield chunk, feed

    def feed_for(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        return next(self.batches(indices, len(indices)))[1]


@dataclass(frozen=True)
class Split:
    calibration: np.ndarray
    evaluation: np.ndarray
    seed: int
    evaluation_sequences: list[np.ndarray] | None = None  # ordered, for a rollout; None: independent samples
    calibration_sequences: list[np.ndarray] | None = None

    def describe(self) -> dict[str, int]:
        described = {
            "calibration_samples": int(len(self.calibration)),
            "evaluation_samples": int(len(self.evaluation)),
            "seed": self.seed,
        }
        if self.evaluation_sequences is not None:
            described["evaluation_sequences"] = len(self.evaluation_sequences)
        return described


def load_dataset(path: Path, inputs: list[InputSpec], *, optional: frozenset[str] = frozenset()) -> Dataset:
    """Load an .npz (no pickles) and match its arrays to the model's inputs; an input named in ``optional`` is
    matched when the dataset holds an array for it and left out otherwise (the evaluation fills it in)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise EngineError("invalid_dataset", f"the dataset cannot be read: {exc}") from None
    labels = arrays.pop("labels", None)
    sequence_ids = arrays.pop(SEQUENCE_ID, None)
    label_names = _names(arrays.pop("label_names", None))
    feeds: dict[str, np.ndarray] = {}
    per_sample: dict[str, bool] = {}
    for spec in inputs:
        if spec.name not in arrays and spec.name in optional:
            continue
        if spec.name not in arrays:
            raise EngineError("dataset_mismatch", f"the dataset has no array for model input {spec.name!r}")
        array = arrays[spec.name]
        if array.dtype != spec.dtype:
            raise EngineError(
                "dataset_mismatch", f"array {spec.name!r} is {array.dtype}, the model input expects {spec.dtype}"
            )
        if array.ndim == len(spec.shape):
            per_sample[spec.name] = False
        elif array.ndim == len(spec.shape) + 1:
            per_sample[spec.name] = True
        else:
            raise EngineError(
                "dataset_mismatch",
                f"array {spec.name!r} has rank {array.ndim}; input {spec.name!r} has rank {len(spec.shape)}",
            )
        feeds[spec.name] = np.ascontiguousarray(array)
    lengths = {a.shape[0] for a in feeds.values()}
    if len(lengths) != 1:
        raise EngineError("dataset_mismatch", "the dataset's arrays disagree on the number of samples")
    num_samples = lengths.pop()
    if sequence_ids is not None and (
        sequence_ids.ndim != 1 or sequence_ids.dtype.kind not in "iu" or len(sequence_ids) != num_samples
    ):
        raise EngineError(
            "dataset_mismatch",
            f"{SEQUENCE_ID!r} must be one integer per sample (shape [{num_samples}]), not {sequence_ids.dtype} "
            f"{list(sequence_ids.shape)}",
        )
    if labels is not None:
        check_labels(labels, num_samples)
    return Dataset(feeds, per_sample, labels, num_samples, sequence_ids, label_names)


def _names(array: np.ndarray | None) -> list[str] | None:
    """A 1-D string array as a list of names (anything else: none; the service refuses it at upload)."""
    if array is None or array.ndim != 1 or array.dtype.kind not in "US":
        return None
    return [n.decode(errors="replace") if isinstance(n, bytes) else str(n) for n in array.tolist()]


def _is_classes(labels: np.ndarray) -> bool:
    """Integer class ids, one per sample (float labels are regression targets: nothing to count)."""
    return labels.ndim == 1 and labels.dtype.kind in "iu" and len(labels) > 0


def check_labels(labels: np.ndarray, num_samples: int) -> None:
    """Labels that no job can use: a count other than the samples', negative class ids (``invalid_labels``)."""
    if labels.ndim == 0 or labels.shape[0] != num_samples:
        count = labels.shape[0] if labels.ndim else "a scalar"
        raise EngineError(
            "invalid_labels",
            f"array 'labels' has {count} entries but the inputs have {num_samples} samples: one label per sample",
        )
    if _is_classes(labels) and labels.dtype.kind == "i" and int(labels.min()) < 0:
        raise EngineError(
            "invalid_labels",
            f"array 'labels' holds negative class ids ({int(labels.min())} at sample "
            f"{int(np.flatnonzero(labels < 0)[0])}); class ids count from 0",
        )


def check_training_labels(labels: np.ndarray, *, classes: int | None) -> list[str]:
    """Labels to train on: every class id below ``classes`` (the classifier's width, when known) and every class
    at least twice; raises ``invalid_labels``. Returns warnings (strong class imbalance)."""
    if not _is_classes(labels):
        return []
    if classes is not None and int(labels.max()) >= classes:
        beyond = np.flatnonzero(labels >= classes)
        raise EngineError(
            "invalid_labels",
            f"array 'labels' holds class id {int(labels.max())} (sample {int(beyond[0])}, {len(beyond)} in all) but "
            f"the model's classifier output has {classes} classes (ids 0..{classes - 1})",
        )
    ids, counts = np.unique(labels, return_counts=True)
    rare = [(int(c), int(n)) for c, n in zip(ids, counts, strict=True) if n < MIN_PER_CLASS]
    if rare:
        listed = ", ".join(f"class {c}: {n} sample" for c, n in rare[:10]) + (" …" if len(rare) > 10 else "")
        raise EngineError(
            "invalid_labels",
            f"array 'labels' has {len(rare)} class(es) with fewer than {MIN_PER_CLASS} samples ({listed}); each "
            "class needs samples to train and to judge on: add samples or drop the class",
        )
    largest, smallest = int(counts.max()), int(counts.min())
    if len(ids) > 1 and largest >= IMBALANCE_RATIO * smallest:
        return [
            f"labels are strongly imbalanced: class {int(ids[counts.argmax()])} has {largest} samples, class "
            f"{int(ids[counts.argmin()])} {smallest}; accuracy mostly measures the large classes and training "
            "leans towards them"
        ]
    return []


def split(
    dataset: Dataset, *, calibration_fraction: float, seed: int, max_eval_samples: int, ordered: bool = False
) -> Split:
    """A seeded, non-overlapping split: the same recipe and data always give the same samples.

    ``ordered`` (stateful models) keeps sequences whole and in order: with ``sequence_id`` whole sequences
    go to one side (seeded); without it the first samples calibrate and the rest, in order, evaluate.
    """
    n_cal = max(1, min(dataset.num_samples - 1, round(dataset.num_samples * calibration_fraction)))
    if not ordered:
        order = np.random.default_rng(seed).permutation(dataset.num_samples)
        evaluation = np.sort(order[n_cal:][:max_eval_samples])
        return Split(np.sort(order[:n_cal]), evaluation, seed)
    sequences = dataset_sequences(dataset)
    if len(sequences) == 1:
        (whole,) = sequences
        head, tail = whole[:n_cal], whole[n_cal:][:max_eval_samples]
        return Split(head, tail, seed, [tail], [head])
    shuffled = [sequences[i] for i in np.random.default_rng(seed).permutation(len(sequences))]
    calibration: list[np.ndarray] = []
    while shuffled[1:] and sum(len(s) for s in calibration) < n_cal:
        calibration.append(shuffled.pop(0))
    judged: list[np.ndarray] = []
    for sequence in sorted(shuffled, key=lambda s: int(s[0])):
        room = max_eval_samples - sum(len(s) for s in judged)
        if room <= 0:
            break
        judged.append(sequence[:room])
    return Split(np.sort(np.concatenate(calibration)), np.concatenate(judged), seed, judged, calibration)


def dataset_sequences(dataset: Dataset) -> list[np.ndarray]:
    """The ordered sequences of sample indices: one per ``sequence_id`` (in order of first appearance)."""
    if dataset.sequence_ids is None:
        return [np.arange(dataset.num_samples)]
    ids, first = np.unique(dataset.sequence_ids, return_index=True)
    return [np.flatnonzero(dataset.sequence_ids == ids[i]) for i in np.argsort(first)]
