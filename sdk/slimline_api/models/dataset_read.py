from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tensor_spec import TensorSpec


T = TypeVar("T", bound="DatasetRead")


@_attrs_define
class DatasetRead:
    """
    Attributes:
        id (str):
        name (str):
        size_bytes (int):
        sha256 (str):
        arrays (list[TensorSpec]):
        num_samples (int):
        has_labels (bool):
        created_at (datetime.datetime):
        warnings (list[str] | Unset):
    """

    id: str
    name: str
    size_bytes: int
    sha256: str
    arrays: list[TensorSpec]
    num_samples: int
    has_labels: bool
    created_at: datetime.datetime
    warnings: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        size_bytes = self.size_bytes

        sha256 = self.sha256

        arrays = []
        for arrays_item_data in self.arrays:
            arrays_item = arrays_item_data.to_dict()
            arrays.append(arrays_item)

        num_samples = self.num_samples

        has_labels = self.has_labels

        created_at = self.created_at.isoformat()

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "arrays": arrays,
                "num_samples": num_samples,
                "has_labels": has_labels,
                "created_at": created_at,
            }
        )
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.tensor_spec import TensorSpec

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        size_bytes = d.pop("size_bytes")

        sha256 = d.pop("sha256")

        arrays = []
        _arrays = d.pop("arrays")
        for arrays_item_data in _arrays:
            arrays_item = TensorSpec.from_dict(arrays_item_data)

            arrays.append(arrays_item)

        num_samples = d.pop("num_samples")

        has_labels = d.pop("has_labels")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        warnings = cast(list[str], d.pop("warnings", UNSET))

        dataset_read = cls(
            id=id,
            name=name,
            size_bytes=size_bytes,
            sha256=sha256,
            arrays=arrays,
            num_samples=num_samples,
            has_labels=has_labels,
            created_at=created_at,
            warnings=warnings,
        )

        dataset_read.additional_properties = d
        return dataset_read

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
