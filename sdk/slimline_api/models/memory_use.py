from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="MemoryUse")


@_attrs_define
class MemoryUse:
    """The job's memory: the pre-flight's estimate (worker/engine/memory.py), the limit, and the measured peak.

    Attributes:
        estimate_bytes (int): Estimated peak resident memory, checked before the model was loaded.
        weights_bytes (int):
        dataset_bytes (int):
        runtime_bytes (int):
        weight_copies (float): Weight-sized copies the recipe's passes hold at once (the estimate's factor).
        outputs_bytes (int | Unset): One variant's outputs over the evaluation split (float32). Default: 0.
        limit_bytes (int | None | Unset): The worker's per-job limit; null when the engine ran without one.
        peak_rss_bytes (int | None | Unset): The job process's measured peak resident memory (its tree's); null outside
            a worker.
    """

    estimate_bytes: int
    weights_bytes: int
    dataset_bytes: int
    runtime_bytes: int
    weight_copies: float
    outputs_bytes: int | Unset = 0
    limit_bytes: int | None | Unset = UNSET
    peak_rss_bytes: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        estimate_bytes = self.estimate_bytes

        weights_bytes = self.weights_bytes

        dataset_bytes = self.dataset_bytes

        runtime_bytes = self.runtime_bytes

        weight_copies = self.weight_copies

        outputs_bytes = self.outputs_bytes

        limit_bytes: int | None | Unset
        if isinstance(self.limit_bytes, Unset):
            limit_bytes = UNSET
        else:
            limit_bytes = self.limit_bytes

        peak_rss_bytes: int | None | Unset
        if isinstance(self.peak_rss_bytes, Unset):
            peak_rss_bytes = UNSET
        else:
            peak_rss_bytes = self.peak_rss_bytes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "estimate_bytes": estimate_bytes,
                "weights_bytes": weights_bytes,
                "dataset_bytes": dataset_bytes,
                "runtime_bytes": runtime_bytes,
                "weight_copies": weight_copies,
            }
        )
        if outputs_bytes is not UNSET:
            field_dict["outputs_bytes"] = outputs_bytes
        if limit_bytes is not UNSET:
            field_dict["limit_bytes"] = limit_bytes
        if peak_rss_bytes is not UNSET:
            field_dict["peak_rss_bytes"] = peak_rss_bytes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        estimate_bytes = d.pop("estimate_bytes")

        weights_bytes = d.pop("weights_bytes")

        dataset_bytes = d.pop("dataset_bytes")

        runtime_bytes = d.pop("runtime_bytes")

        weight_copies = d.pop("weight_copies")

        outputs_bytes = d.pop("outputs_bytes", UNSET)

        def _parse_limit_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        limit_bytes = _parse_limit_bytes(d.pop("limit_bytes", UNSET))

        def _parse_peak_rss_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        peak_rss_bytes = _parse_peak_rss_bytes(d.pop("peak_rss_bytes", UNSET))

        memory_use = cls(
            estimate_bytes=estimate_bytes,
            weights_bytes=weights_bytes,
            dataset_bytes=dataset_bytes,
            runtime_bytes=runtime_bytes,
            weight_copies=weight_copies,
            outputs_bytes=outputs_bytes,
            limit_bytes=limit_bytes,
            peak_rss_bytes=peak_rss_bytes,
        )

        memory_use.additional_properties = d
        return memory_use

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
