"""Datasets as model feeds: one array per input, split reproducibly into calibration and evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.engine.errors import EngineError
from worker.engine.modelio import InputSpec

SEQUENCE_ID = "sequence_id"  # the optional array that marks ordered sequences; not a model input


@dataclass
class Dataset:
    """Arrays keyed by model input; ``per_sample[name]`` is True when ``arrays[name][i]`` is a whole feed."""

    arrays: dict[str, np.ndarray]
    per_sample: dict[str, bool]
    labels: np.ndarray | None
    num_samples: int
    sequence_ids: np.ndarray | None = None  # marks ordered sequences (for stateful models)

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


def load_dataset(path: Path, inputs: list[InputSpec]) -> Dataset:
    """Load an .npz (no pickles) and match its arrays to the model's inputs."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise EngineError("invalid_dataset", f"the dataset cannot be read: {exc}") from None
    labels = arrays.pop("labels", None)
    sequence_ids = arrays.pop(SEQUENCE_ID, None)
    feeds: dict[str, np.ndarray] = {}
    per_sample: dict[str, bool] = {}
    for spec in inputs:
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
    return Dataset(feeds, per_sample, labels, num_samples, sequence_ids)


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
