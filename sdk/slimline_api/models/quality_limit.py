from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="QualityLimit")


@_attrs_define
class QualityLimit:
    """How much worse the optimized model may be than the original.

    With labels the limit is on accuracy (absolute drop, 0.01 = 1 point); without labels it is on
    fidelity to the original model's outputs.

        Attributes:
            max_accuracy_drop (float | Unset): Largest accuracy loss accepted (0.01 = 1 point; see `relative`). Default:
                0.01.
            relative (bool | Unset): Read `max_accuracy_drop` as a fraction of the baseline accuracy (0.01 = 1 % of it).
                Default: False.
            min_top1_agreement (float | Unset): Classifier-like outputs, no labels. Default: 0.99.
            min_cosine (float | Unset): Other outputs, no labels. Default: 0.99.
    """

    max_accuracy_drop: float | Unset = 0.01
    relative: bool | Unset = False
    min_top1_agreement: float | Unset = 0.99
    min_cosine: float | Unset = 0.99

    def to_dict(self) -> dict[str, Any]:
        max_accuracy_drop = self.max_accuracy_drop

        relative = self.relative

        min_top1_agreement = self.min_top1_agreement

        min_cosine = self.min_cosine

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_accuracy_drop is not UNSET:
            field_dict["max_accuracy_drop"] = max_accuracy_drop
        if relative is not UNSET:
            field_dict["relative"] = relative
        if min_top1_agreement is not UNSET:
            field_dict["min_top1_agreement"] = min_top1_agreement
        if min_cosine is not UNSET:
            field_dict["min_cosine"] = min_cosine

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        max_accuracy_drop = d.pop("max_accuracy_drop", UNSET)

        relative = d.pop("relative", UNSET)

        min_top1_agreement = d.pop("min_top1_agreement", UNSET)

        min_cosine = d.pop("min_cosine", UNSET)

        quality_limit = cls(
            max_accuracy_drop=max_accuracy_drop,
            relative=relative,
            min_top1_agreement=min_top1_agreement,
            min_cosine=min_cosine,
        )

        return quality_limit
