from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Accuracy")


@_attrs_define
class Accuracy:
    """
    Attributes:
        top1 (float):
        f1_macro (float):
        loss (float | None):
    """

    top1: float
    f1_macro: float
    loss: float | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        top1 = self.top1

        f1_macro = self.f1_macro

        loss: float | None
        loss = self.loss

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "top1": top1,
                "f1_macro": f1_macro,
                "loss": loss,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        top1 = d.pop("top1")

        f1_macro = d.pop("f1_macro")

        def _parse_loss(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        loss = _parse_loss(d.pop("loss"))

        accuracy = cls(
            top1=top1,
            f1_macro=f1_macro,
            loss=loss,
        )

        accuracy.additional_properties = d
        return accuracy

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
