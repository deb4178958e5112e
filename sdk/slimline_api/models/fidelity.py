from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Fidelity")


@_attrs_define
class Fidelity:
    """Agreement of the first output with the original model's (every output, judged, is in ``per_output``).

    Attributes:
        top1_agreement (float | None): Same arg-max class; null for non-classifier outputs.
        cosine_mean (float | None): Per-sample cosine similarity; null for small (<= 8 values) and integer outputs,
            where it means nothing (the cosine of one value is always 1).
        cosine_min (float | None):
        max_abs_error (float):
    """

    top1_agreement: float | None
    cosine_mean: float | None
    cosine_min: float | None
    max_abs_error: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        top1_agreement: float | None
        top1_agreement = self.top1_agreement

        cosine_mean: float | None
        cosine_mean = self.cosine_mean

        cosine_min: float | None
        cosine_min = self.cosine_min

        max_abs_error = self.max_abs_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "top1_agreement": top1_agreement,
                "cosine_mean": cosine_mean,
                "cosine_min": cosine_min,
                "max_abs_error": max_abs_error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_top1_agreement(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        top1_agreement = _parse_top1_agreement(d.pop("top1_agreement"))

        def _parse_cosine_mean(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cosine_mean = _parse_cosine_mean(d.pop("cosine_mean"))

        def _parse_cosine_min(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cosine_min = _parse_cosine_min(d.pop("cosine_min"))

        max_abs_error = d.pop("max_abs_error")

        fidelity = cls(
            top1_agreement=top1_agreement,
            cosine_mean=cosine_mean,
            cosine_min=cosine_min,
            max_abs_error=max_abs_error,
        )

        fidelity.additional_properties = d
        return fidelity

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
