from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SensitivityEntry")


@_attrs_define
class SensitivityEntry:
    """What quantizing only these nodes costs, measured on the evaluation split.

    Attributes:
        rank (int):
        nodes (list[str]):
        op_types (list[str]):
        fidelity_loss (float): 1 - mean cosine similarity to the original model.
        accuracy_drop (float | None):
        top1_agreement (float | None):
        limit_gap (float): How far beyond the quality limit this alone goes (<= 0: within).
        quality (str):
    """

    rank: int
    nodes: list[str]
    op_types: list[str]
    fidelity_loss: float
    accuracy_drop: float | None
    top1_agreement: float | None
    limit_gap: float
    quality: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rank = self.rank

        nodes = self.nodes

        op_types = self.op_types

        fidelity_loss = self.fidelity_loss

        accuracy_drop: float | None
        accuracy_drop = self.accuracy_drop

        top1_agreement: float | None
        top1_agreement = self.top1_agreement

        limit_gap = self.limit_gap

        quality = self.quality

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rank": rank,
                "nodes": nodes,
                "op_types": op_types,
                "fidelity_loss": fidelity_loss,
                "accuracy_drop": accuracy_drop,
                "top1_agreement": top1_agreement,
                "limit_gap": limit_gap,
                "quality": quality,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        rank = d.pop("rank")

        nodes = cast(list[str], d.pop("nodes"))

        op_types = cast(list[str], d.pop("op_types"))

        fidelity_loss = d.pop("fidelity_loss")

        def _parse_accuracy_drop(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        accuracy_drop = _parse_accuracy_drop(d.pop("accuracy_drop"))

        def _parse_top1_agreement(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        top1_agreement = _parse_top1_agreement(d.pop("top1_agreement"))

        limit_gap = d.pop("limit_gap")

        quality = d.pop("quality")

        sensitivity_entry = cls(
            rank=rank,
            nodes=nodes,
            op_types=op_types,
            fidelity_loss=fidelity_loss,
            accuracy_drop=accuracy_drop,
            top1_agreement=top1_agreement,
            limit_gap=limit_gap,
            quality=quality,
        )

        sensitivity_entry.additional_properties = d
        return sensitivity_entry

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
