from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.output_limit_kind import OutputLimitKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="OutputLimit")


@_attrs_define
class OutputLimit:
    """The quality limit of one named output: how it is judged, and limits that replace the defaults.

    Attributes:
        kind (OutputLimitKind | Unset): How the output is judged: `classifier` (top-1 agreement; accuracy with labels),
            `small` (≤ 8 values per sample: error across samples, decision agreement for [0, 1] values), `dense` (per-sample
            cosine, SNR), `integer` (exact match). `auto`: from the output's dtype, shape and values. Default:
            OutputLimitKind.AUTO.
        ignore (bool | Unset): Do not judge this output at all (it is still reported). Default: False.
        min_top1_agreement (float | None | Unset):
        min_cosine (float | None | Unset):
        max_normalized_rmse (float | None | Unset):
        min_decision_agreement (float | None | Unset):
        decision_threshold (float | None | Unset):
        min_exact_match (float | None | Unset):
    """

    kind: OutputLimitKind | Unset = OutputLimitKind.AUTO
    ignore: bool | Unset = False
    min_top1_agreement: float | None | Unset = UNSET
    min_cosine: float | None | Unset = UNSET
    max_normalized_rmse: float | None | Unset = UNSET
    min_decision_agreement: float | None | Unset = UNSET
    decision_threshold: float | None | Unset = UNSET
    min_exact_match: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        ignore = self.ignore

        min_top1_agreement: float | None | Unset
        if isinstance(self.min_top1_agreement, Unset):
            min_top1_agreement = UNSET
        else:
            min_top1_agreement = self.min_top1_agreement

        min_cosine: float | None | Unset
        if isinstance(self.min_cosine, Unset):
            min_cosine = UNSET
        else:
            min_cosine = self.min_cosine

        max_normalized_rmse: float | None | Unset
        if isinstance(self.max_normalized_rmse, Unset):
            max_normalized_rmse = UNSET
        else:
            max_normalized_rmse = self.max_normalized_rmse

        min_decision_agreement: float | None | Unset
        if isinstance(self.min_decision_agreement, Unset):
            min_decision_agreement = UNSET
        else:
            min_decision_agreement = self.min_decision_agreement

        decision_threshold: float | None | Unset
        if isinstance(self.decision_threshold, Unset):
            decision_threshold = UNSET
        else:
            decision_threshold = self.decision_threshold

        min_exact_match: float | None | Unset
        if isinstance(self.min_exact_match, Unset):
            min_exact_match = UNSET
        else:
            min_exact_match = self.min_exact_match

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if kind is not UNSET:
            field_dict["kind"] = kind
        if ignore is not UNSET:
            field_dict["ignore"] = ignore
        if min_top1_agreement is not UNSET:
            field_dict["min_top1_agreement"] = min_top1_agreement
        if min_cosine is not UNSET:
            field_dict["min_cosine"] = min_cosine
        if max_normalized_rmse is not UNSET:
            field_dict["max_normalized_rmse"] = max_normalized_rmse
        if min_decision_agreement is not UNSET:
            field_dict["min_decision_agreement"] = min_decision_agreement
        if decision_threshold is not UNSET:
            field_dict["decision_threshold"] = decision_threshold
        if min_exact_match is not UNSET:
            field_dict["min_exact_match"] = min_exact_match

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _kind = d.pop("kind", UNSET)
        kind: OutputLimitKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = OutputLimitKind(_kind)

        ignore = d.pop("ignore", UNSET)

        def _parse_min_top1_agreement(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_top1_agreement = _parse_min_top1_agreement(
            d.pop("min_top1_agreement", UNSET)
        )

        def _parse_min_cosine(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_cosine = _parse_min_cosine(d.pop("min_cosine", UNSET))

        def _parse_max_normalized_rmse(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_normalized_rmse = _parse_max_normalized_rmse(
            d.pop("max_normalized_rmse", UNSET)
        )

        def _parse_min_decision_agreement(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_decision_agreement = _parse_min_decision_agreement(
            d.pop("min_decision_agreement", UNSET)
        )

        def _parse_decision_threshold(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        decision_threshold = _parse_decision_threshold(
            d.pop("decision_threshold", UNSET)
        )

        def _parse_min_exact_match(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_exact_match = _parse_min_exact_match(d.pop("min_exact_match", UNSET))

        output_limit = cls(
            kind=kind,
            ignore=ignore,
            min_top1_agreement=min_top1_agreement,
            min_cosine=min_cosine,
            max_normalized_rmse=max_normalized_rmse,
            min_decision_agreement=min_decision_agreement,
            decision_threshold=decision_threshold,
            min_exact_match=min_exact_match,
        )

        return output_limit
