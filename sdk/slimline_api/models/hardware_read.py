from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.hardware_class_read import HardwareClassRead
    from ..models.hardware_read_generic_queues import HardwareReadGenericQueues


T = TypeVar("T", bound="HardwareRead")


@_attrs_define
class HardwareRead:
    """
    Attributes:
        classes (list[HardwareClassRead]): Every class a worker has ever offered.
        generic_queues (HardwareReadGenericQueues): Live workers per generic queue (`cpu`, `gpu`): jobs without
            `target.hardware` go there.
    """

    classes: list[HardwareClassRead]
    generic_queues: HardwareReadGenericQueues
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        classes = []
        for classes_item_data in self.classes:
            classes_item = classes_item_data.to_dict()
            classes.append(classes_item)

        generic_queues = self.generic_queues.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "classes": classes,
                "generic_queues": generic_queues,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.hardware_class_read import HardwareClassRead
        from ..models.hardware_read_generic_queues import HardwareReadGenericQueues

        d = dict(src_dict)
        classes = []
        _classes = d.pop("classes")
        for classes_item_data in _classes:
            classes_item = HardwareClassRead.from_dict(classes_item_data)

            classes.append(classes_item)

        generic_queues = HardwareReadGenericQueues.from_dict(d.pop("generic_queues"))

        hardware_read = cls(
            classes=classes,
            generic_queues=generic_queues,
        )

        hardware_read.additional_properties = d
        return hardware_read

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
