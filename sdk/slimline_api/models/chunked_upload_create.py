from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.chunked_upload_create_kind import ChunkedUploadCreateKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="ChunkedUploadCreate")


@_attrs_define
class ChunkedUploadCreate:
    """
    Attributes:
        kind (ChunkedUploadCreateKind):
        filename (str): The file's name (.onnx, .zip, .tar, .npz…).
        size_bytes (int): The whole file's size in bytes.
        name (None | str | Unset): Display name; default: the file name.
        sha256 (None | str | Unset): The whole file's SHA-256 (hex), if known now.
        part_size_bytes (int | None | Unset): Bytes per part (the last may be shorter); default 16 MiB. S3 needs ≥ 5
            MiB.
    """

    kind: ChunkedUploadCreateKind
    filename: str
    size_bytes: int
    name: None | str | Unset = UNSET
    sha256: None | str | Unset = UNSET
    part_size_bytes: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        filename = self.filename

        size_bytes = self.size_bytes

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        sha256: None | str | Unset
        if isinstance(self.sha256, Unset):
            sha256 = UNSET
        else:
            sha256 = self.sha256

        part_size_bytes: int | None | Unset
        if isinstance(self.part_size_bytes, Unset):
            part_size_bytes = UNSET
        else:
            part_size_bytes = self.part_size_bytes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "filename": filename,
                "size_bytes": size_bytes,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if sha256 is not UNSET:
            field_dict["sha256"] = sha256
        if part_size_bytes is not UNSET:
            field_dict["part_size_bytes"] = part_size_bytes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        kind = ChunkedUploadCreateKind(d.pop("kind"))

        filename = d.pop("filename")

        size_bytes = d.pop("size_bytes")

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_sha256(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sha256 = _parse_sha256(d.pop("sha256", UNSET))

        def _parse_part_size_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        part_size_bytes = _parse_part_size_bytes(d.pop("part_size_bytes", UNSET))

        chunked_upload_create = cls(
            kind=kind,
            filename=filename,
            size_bytes=size_bytes,
            name=name,
            sha256=sha256,
            part_size_bytes=part_size_bytes,
        )

        chunked_upload_create.additional_properties = d
        return chunked_upload_create

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
