from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ClassMetrics")


@_attrs_define
class ClassMetrics:
    """One class on the evaluation split.

    Attributes:
        class_id (int):
        name (str): From the dataset's `label_names`, else the class id.
        precision (float):
        recall (float):
        f1 (float):
        support (int): Evaluation samples of this class.
    """

    class_id: int
    name: str
    precision: float
    recall: float
    f1: float
    support: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        class_id = self.class_id

        name = self.name

        precision = self.precision

        recall = self.recall

        f1 = self.f1

        support = self.support

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "class_id": class_id,
                "name": name,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        class_id = d.pop("class_id")

        name = d.pop("name")

        precision = d.pop("precision")

        recall = d.pop("recall")

        f1 = d.pop("f1")

        support = d.pop("support")

        class_metrics = cls(
            class_id=class_id,
            name=name,
            precision=precision,
            recall=recall,
            f1=f1,
            support=support,
        )

        class_metrics.additional_properties = d
        return class_metrics

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
