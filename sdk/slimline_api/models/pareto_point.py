from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.pareto_point_params import ParetoPointParams


T = TypeVar("T", bound="ParetoPoint")


@_attrs_define
class ParetoPoint:
    """
    Attributes:
        number (int):
        score (float):
        quality_loss (float): Accuracy points lost, else 1 - top-1 agreement, else 1 - cosine.
        within_limit (bool):
        params (ParetoPointParams):
    """

    number: int
    score: float
    quality_loss: float
    within_limit: bool
    params: ParetoPointParams
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        number = self.number

        score = self.score

        quality_loss = self.quality_loss

        within_limit = self.within_limit

        params = self.params.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "score": score,
                "quality_loss": quality_loss,
                "within_limit": within_limit,
                "params": params,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pareto_point_params import ParetoPointParams

        d = dict(src_dict)
        number = d.pop("number")

        score = d.pop("score")

        quality_loss = d.pop("quality_loss")

        within_limit = d.pop("within_limit")

        params = ParetoPointParams.from_dict(d.pop("params"))

        pareto_point = cls(
            number=number,
            score=score,
            quality_loss=quality_loss,
            within_limit=within_limit,
            params=params,
        )

        pareto_point.additional_properties = d
        return pareto_point

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
