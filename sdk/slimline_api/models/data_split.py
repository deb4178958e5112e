from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DataSplit")


@_attrs_define
class DataSplit:
    """Reproducible split of the dataset into calibration and evaluation samples (no overlap).

    Attributes:
        calibration_fraction (float | Unset):  Default: 0.5.
        seed (int | Unset): Seeds the random split: the same seed and data give the same samples. Default: 0.
        max_eval_samples (int | Unset):  Default: 1000.
    """

    calibration_fraction: float | Unset = 0.5
    seed: int | Unset = 0
    max_eval_samples: int | Unset = 1000

    def to_dict(self) -> dict[str, Any]:
        calibration_fraction = self.calibration_fraction

        seed = self.seed

        max_eval_samples = self.max_eval_samples

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if calibration_fraction is not UNSET:
            field_dict["calibration_fraction"] = calibration_fraction
        if seed is not UNSET:
            field_dict["seed"] = seed
        if max_eval_samples is not UNSET:
            field_dict["max_eval_samples"] = max_eval_samples

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        calibration_fraction = d.pop("calibration_fraction", UNSET)

        seed = d.pop("seed", UNSET)

        max_eval_samples = d.pop("max_eval_samples", UNSET)

        data_split = cls(
            calibration_fraction=calibration_fraction,
            seed=seed,
            max_eval_samples=max_eval_samples,
        )

        return data_split
