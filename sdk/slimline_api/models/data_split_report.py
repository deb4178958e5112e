from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DataSplitReport")


@_attrs_define
class DataSplitReport:
    """
    Attributes:
        calibration_samples (int):
        evaluation_samples (int):
        seed (int):
        evaluation_sequences (int | None | Unset): Ordered sequences judged by rollout (stateful).
    """

    calibration_samples: int
    evaluation_samples: int
    seed: int
    evaluation_sequences: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        calibration_samples = self.calibration_samples

        evaluation_samples = self.evaluation_samples

        seed = self.seed

        evaluation_sequences: int | None | Unset
        if isinstance(self.evaluation_sequences, Unset):
            evaluation_sequences = UNSET
        else:
            evaluation_sequences = self.evaluation_sequences

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "calibration_samples": calibration_samples,
                "evaluation_samples": evaluation_samples,
                "seed": seed,
            }
        )
        if evaluation_sequences is not UNSET:
            field_dict["evaluation_sequences"] = evaluation_sequences

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        calibration_samples = d.pop("calibration_samples")

        evaluation_samples = d.pop("evaluation_samples")

        seed = d.pop("seed")

        def _parse_evaluation_sequences(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        evaluation_sequences = _parse_evaluation_sequences(
            d.pop("evaluation_sequences", UNSET)
        )

        data_split_report = cls(
            calibration_samples=calibration_samples,
            evaluation_samples=evaluation_samples,
            seed=seed,
            evaluation_sequences=evaluation_sequences,
        )

        data_split_report.additional_properties = d
        return data_split_report

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
