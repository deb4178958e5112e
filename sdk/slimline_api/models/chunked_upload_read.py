from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.chunked_upload_read_kind import ChunkedUploadReadKind
from ..models.chunked_upload_read_status import ChunkedUploadReadStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.part_read import PartRead


T = TypeVar("T", bound="ChunkedUploadRead")


@_attrs_define
class ChunkedUploadRead:
    """
    Attributes:
        id (str):
        kind (ChunkedUploadReadKind):
        filename (str):
        name (str):
        size_bytes (int):
        part_size_bytes (int):
        part_count (int):
        sha256 (None | str):
        status (ChunkedUploadReadStatus):
        parts (list[PartRead]): The parts stored so far, by number; resume with the missing ones.
        missing_parts (list[int]):
        created_at (datetime.datetime):
        expires_at (datetime.datetime):
        resource_id (None | str | Unset): The model or dataset made when the upload completed.
    """

    id: str
    kind: ChunkedUploadReadKind
    filename: str
    name: str
    size_bytes: int
    part_size_bytes: int
    part_count: int
    sha256: None | str
    status: ChunkedUploadReadStatus
    parts: list[PartRead]
    missing_parts: list[int]
    created_at: datetime.datetime
    expires_at: datetime.datetime
    resource_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        filename = self.filename

        name = self.name

        size_bytes = self.size_bytes

        part_size_bytes = self.part_size_bytes

        part_count = self.part_count

        sha256: None | str
        sha256 = self.sha256

        status = self.status.value

        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.to_dict()
            parts.append(parts_item)

        missing_parts = self.missing_parts

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        resource_id: None | str | Unset
        if isinstance(self.resource_id, Unset):
            resource_id = UNSET
        else:
            resource_id = self.resource_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "filename": filename,
                "name": name,
                "size_bytes": size_bytes,
                "part_size_bytes": part_size_bytes,
                "part_count": part_count,
                "sha256": sha256,
                "status": status,
                "parts": parts,
                "missing_parts": missing_parts,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )
        if resource_id is not UNSET:
            field_dict["resource_id"] = resource_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.part_read import PartRead

        d = dict(src_dict)
        id = d.pop("id")

        kind = ChunkedUploadReadKind(d.pop("kind"))

        filename = d.pop("filename")

        name = d.pop("name")

        size_bytes = d.pop("size_bytes")

        part_size_bytes = d.pop("part_size_bytes")

        part_count = d.pop("part_count")

        def _parse_sha256(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sha256 = _parse_sha256(d.pop("sha256"))

        status = ChunkedUploadReadStatus(d.pop("status"))

        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = PartRead.from_dict(parts_item_data)

            parts.append(parts_item)

        missing_parts = cast(list[int], d.pop("missing_parts"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        def _parse_resource_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resource_id = _parse_resource_id(d.pop("resource_id", UNSET))

        chunked_upload_read = cls(
            id=id,
            kind=kind,
            filename=filename,
            name=name,
            size_bytes=size_bytes,
            part_size_bytes=part_size_bytes,
            part_count=part_count,
            sha256=sha256,
            status=status,
            parts=parts,
            missing_parts=missing_parts,
            created_at=created_at,
            expires_at=expires_at,
            resource_id=resource_id,
        )

        chunked_upload_read.additional_properties = d
        return chunked_upload_read

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
