from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.model_read_format import ModelReadFormat
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tensor_spec import TensorSpec


T = TypeVar("T", bound="ModelRead")


@_attrs_define
class ModelRead:
    """
    Attributes:
        id (str):
        name (str):
        format_ (ModelReadFormat):
        size_bytes (int):
        sha256 (str):
        opset (int | None):
        inputs (list[TensorSpec]):
        outputs (list[TensorSpec]):
        parameter_count (int):
        created_at (datetime.datetime):
        warnings (list[str] | Unset):
    """

    id: str
    name: str
    format_: ModelReadFormat
    size_bytes: int
    sha256: str
    opset: int | None
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    parameter_count: int
    created_at: datetime.datetime
    warnings: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        format_ = self.format_.value

        size_bytes = self.size_bytes

        sha256 = self.sha256

        opset: int | None
        opset = self.opset

        inputs = []
        for inputs_item_data in self.inputs:
            inputs_item = inputs_item_data.to_dict()
            inputs.append(inputs_item)

        outputs = []
        for outputs_item_data in self.outputs:
            outputs_item = outputs_item_data.to_dict()
            outputs.append(outputs_item)

        parameter_count = self.parameter_count

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
                "format": format_,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "opset": opset,
                "inputs": inputs,
                "outputs": outputs,
                "parameter_count": parameter_count,
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

        format_ = ModelReadFormat(d.pop("format"))

        size_bytes = d.pop("size_bytes")

        sha256 = d.pop("sha256")

        def _parse_opset(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        opset = _parse_opset(d.pop("opset"))

        inputs = []
        _inputs = d.pop("inputs")
        for inputs_item_data in _inputs:
            inputs_item = TensorSpec.from_dict(inputs_item_data)

            inputs.append(inputs_item)

        outputs = []
        _outputs = d.pop("outputs")
        for outputs_item_data in _outputs:
            outputs_item = TensorSpec.from_dict(outputs_item_data)

            outputs.append(outputs_item)

        parameter_count = d.pop("parameter_count")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        warnings = cast(list[str], d.pop("warnings", UNSET))

        model_read = cls(
            id=id,
            name=name,
            format_=format_,
            size_bytes=size_bytes,
            sha256=sha256,
            opset=opset,
            inputs=inputs,
            outputs=outputs,
            parameter_count=parameter_count,
            created_at=created_at,
            warnings=warnings,
        )

        model_read.additional_properties = d
        return model_read

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
