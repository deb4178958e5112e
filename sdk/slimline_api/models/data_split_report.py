from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DataSplitReport")


@_attrs_define
class DataSplitReport:
    """
    Attributes:
        calibration_samples (int):
        evaluation_samples (int):
        seed (int):
    """

    calibration_samples: int
    evaluation_samples: int
    seed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        calibration_samples = self.calibration_samples

        evaluation_samples = self.evaluation_samples

        seed = self.seed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "calibration_samples": calibration_samples,
                "evaluation_samples": evaluation_samples,
                "seed": seed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        calibration_samples = d.pop("calibration_samples")

        evaluation_samples = d.pop("evaluation_samples")

        seed = d.pop("seed")

        data_split_report = cls(
            calibration_samples=calibration_samples,
            evaluation_samples=evaluation_samples,
            seed=seed,
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
