"""Datasets as model feeds: one array per input, split reproducibly into calibration and evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.engine.errors import EngineError
from worker.engine.modelio import InputSpec


@dataclass
class Dataset:
    """Arrays keyed by model input; ``per_sample[name]`` is True when ``arrays[name][i]`` is a whole feed."""

    arrays: dict[str, np.ndarray]
    per_sample: dict[str, bool]
    labels: np.ndarray | None
    num_samples: int

    def batches(self, indices: np.ndarray, batch_size: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Feeds over ``indices``; inputs fed per sample force a batch of one."""
        size = 1 if any(self.per_sample.values()) else batch_size
        for start in range(0, len(indices), size):
            chunk = indices[start : start + size]
            feed = {}
            for name, array in self.arrays.items():
                feed[name] = array[chunk[0]] if self.per_sample[name] else array[chunk]
            yield chunk, feed

    def feed_for(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        return next(self.batches(indices, len(indices)))[1]


@dataclass(frozen=True)
class Split:
    calibration: np.ndarray
    evaluation: np.ndarray
    seed: int

    def describe(self) -> dict[str, int]:
        return {
            "calibration_samples": int(len(self.calibration)),
            "evaluation_samples": int(len(self.evaluation)),
            "seed": self.seed,
        }


def load_dataset(path: Path, inputs: list[InputSpec]) -> Dataset:
    """Load an .npz (no pickles) and match its arrays to the model's inputs."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise EngineError("invalid_dataset", f"the dataset cannot be read: {exc}") from None
    labels = arrays.pop("labels", None)
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
    return Dataset(feeds, per_sample, labels, lengths.pop())


def split(dataset: Dataset, *, calibration_fraction: float, seed: int, max_eval_samples: int) -> Split:
    """A seeded, non-overlapping split: the same recipe and data always give the same samples."""
    order = np.random.default_rng(seed).permutation(dataset.num_samples)
    n_cal = max(1, min(dataset.num_samples - 1, round(dataset.num_samples * calibration_fraction)))
    evaluation = np.sort(order[n_cal:][:max_eval_samples])
    return Split(np.sort(order[:n_cal]), evaluation, seed)
