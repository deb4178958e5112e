from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.output_judged_kind import OutputJudgedKind

T = TypeVar("T", bound="OutputJudged")


@_attrs_define
class OutputJudged:
    """
    Attributes:
        name (str):
        kind (OutputJudgedKind):
        labelled (bool): The dataset's labels are judged on this output (accuracy).
        ignored (bool):
    """

    name: str
    kind: OutputJudgedKind
    labelled: bool
    ignored: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        kind = self.kind.value

        labelled = self.labelled

        ignored = self.ignored

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "kind": kind,
                "labelled": labelled,
                "ignored": ignored,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        kind = OutputJudgedKind(d.pop("kind"))

        labelled = d.pop("labelled")

        ignored = d.pop("ignored")

        output_judged = cls(
            name=name,
            kind=kind,
            labelled=labelled,
            ignored=ignored,
        )

        output_judged.additional_properties = d
        return output_judged

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
