from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TensorSpec")


@_attrs_define
class TensorSpec:
    """Name, element type (numpy spelling, e.g. ``float32``) and shape of one tensor.

    Attributes:
        name (str):
        dtype (str):
        shape (list[int | None | str] | Unset):
    """

    name: str
    dtype: str
    shape: list[int | None | str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        dtype = self.dtype

        shape: list[int | None | str] | Unset = UNSET
        if not isinstance(self.shape, Unset):
            shape = []
            for shape_item_data in self.shape:
                shape_item: int | None | str
                shape_item = shape_item_data
                shape.append(shape_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "dtype": dtype,
            }
        )
        if shape is not UNSET:
            field_dict["shape"] = shape

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        dtype = d.pop("dtype")

        _shape = d.pop("shape", UNSET)
        shape: list[int | None | str] | Unset = UNSET
        if _shape is not UNSET:
            shape = []
            for shape_item_data in _shape:

                def _parse_shape_item(data: object) -> int | None | str:
                    if data is None:
                        return data
                    return cast(int | None | str, data)

                shape_item = _parse_shape_item(shape_item_data)

                shape.append(shape_item)

        tensor_spec = cls(
            name=name,
            dtype=dtype,
            shape=shape,
        )

        tensor_spec.additional_properties = d
        return tensor_spec

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
