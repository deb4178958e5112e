from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GpuRead")


@_attrs_define
class GpuRead:
    """
    Attributes:
        name (str):
        compute_capability (None | str | Unset):
        memory_bytes (int | None | Unset):
        driver_version (None | str | Unset):
        cuda_version (None | str | Unset):
    """

    name: str
    compute_capability: None | str | Unset = UNSET
    memory_bytes: int | None | Unset = UNSET
    driver_version: None | str | Unset = UNSET
    cuda_version: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        compute_capability: None | str | Unset
        if isinstance(self.compute_capability, Unset):
            compute_capability = UNSET
        else:
            compute_capability = self.compute_capability

        memory_bytes: int | None | Unset
        if isinstance(self.memory_bytes, Unset):
            memory_bytes = UNSET
        else:
            memory_bytes = self.memory_bytes

        driver_version: None | str | Unset
        if isinstance(self.driver_version, Unset):
            driver_version = UNSET
        else:
            driver_version = self.driver_version

        cuda_version: None | str | Unset
        if isinstance(self.cuda_version, Unset):
            cuda_version = UNSET
        else:
            cuda_version = self.cuda_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if compute_capability is not UNSET:
            field_dict["compute_capability"] = compute_capability
        if memory_bytes is not UNSET:
            field_dict["memory_bytes"] = memory_bytes
        if driver_version is not UNSET:
            field_dict["driver_version"] = driver_version
        if cuda_version is not UNSET:
            field_dict["cuda_version"] = cuda_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_compute_capability(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        compute_capability = _parse_compute_capability(
            d.pop("compute_capability", UNSET)
        )

        def _parse_memory_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        memory_bytes = _parse_memory_bytes(d.pop("memory_bytes", UNSET))

        def _parse_driver_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver_version = _parse_driver_version(d.pop("driver_version", UNSET))

        def _parse_cuda_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cuda_version = _parse_cuda_version(d.pop("cuda_version", UNSET))

        gpu_read = cls(
            name=name,
            compute_capability=compute_capability,
            memory_bytes=memory_bytes,
            driver_version=driver_version,
            cuda_version=cuda_version,
        )

        gpu_read.additional_properties = d
        return gpu_read

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
