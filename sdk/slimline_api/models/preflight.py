from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.skipped_candidate import SkippedCandidate


T = TypeVar("T", bound="Preflight")


@_attrs_define
class Preflight:
    """What the hardware favours, decided before any candidate is built (worker/engine/preflight.py).

    Attributes:
        notes (list[str] | Unset): What the hardware favours, in words (e.g. no int8 dot-product instructions: static
            int8 last).
        order (list[str] | Unset): The candidate kinds `quantize: auto` builds, checks and lists, first first, and in
            which tuning runs them as its first trials: `fp32`, `static`, `static-float-stem`, `dynamic`, `fp16`.
        skipped (list[SkippedCandidate] | Unset): Candidates `quantize: auto` does not measure on this graph and
            hardware, and why; a recipe that names the mode measures them anyway.
    """

    notes: list[str] | Unset = UNSET
    order: list[str] | Unset = UNSET
    skipped: list[SkippedCandidate] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes

        order: list[str] | Unset = UNSET
        if not isinstance(self.order, Unset):
            order = self.order

        skipped: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.skipped, Unset):
            skipped = []
            for skipped_item_data in self.skipped:
                skipped_item = skipped_item_data.to_dict()
                skipped.append(skipped_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if notes is not UNSET:
            field_dict["notes"] = notes
        if order is not UNSET:
            field_dict["order"] = order
        if skipped is not UNSET:
            field_dict["skipped"] = skipped

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.skipped_candidate import SkippedCandidate

        d = dict(src_dict)
        notes = cast(list[str], d.pop("notes", UNSET))

        order = cast(list[str], d.pop("order", UNSET))

        _skipped = d.pop("skipped", UNSET)
        skipped: list[SkippedCandidate] | Unset = UNSET
        if _skipped is not UNSET:
            skipped = []
            for skipped_item_data in _skipped:
                skipped_item = SkippedCandidate.from_dict(skipped_item_data)

                skipped.append(skipped_item)

        preflight = cls(
            notes=notes,
            order=order,
            skipped=skipped,
        )

        preflight.additional_properties = d
        return preflight

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
