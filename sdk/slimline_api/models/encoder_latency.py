from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.ratio import Ratio


T = TypeVar("T", bound="EncoderLatency")


@_attrs_define
class EncoderLatency:
    """Batch-1 latency of a token encoder at one sequence length.

    Attributes:
        sequence_length (int):
        baseline_ms_p50 (float):
        optimized_ms_p50 (float):
        speedup (None | Ratio): baseline / optimized p50; exactly 1 when the result is the input.
    """

    sequence_length: int
    baseline_ms_p50: float
    optimized_ms_p50: float
    speedup: None | Ratio
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.ratio import Ratio

        sequence_length = self.sequence_length

        baseline_ms_p50 = self.baseline_ms_p50

        optimized_ms_p50 = self.optimized_ms_p50

        speedup: dict[str, Any] | None
        if isinstance(self.speedup, Ratio):
            speedup = self.speedup.to_dict()
        else:
            speedup = self.speedup

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sequence_length": sequence_length,
                "baseline_ms_p50": baseline_ms_p50,
                "optimized_ms_p50": optimized_ms_p50,
                "speedup": speedup,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.ratio import Ratio

        d = dict(src_dict)
        sequence_length = d.pop("sequence_length")

        baseline_ms_p50 = d.pop("baseline_ms_p50")

        optimized_ms_p50 = d.pop("optimized_ms_p50")

        def _parse_speedup(data: object) -> None | Ratio:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                speedup_type_0 = Ratio.from_dict(data)

                return speedup_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Ratio, data)

        speedup = _parse_speedup(d.pop("speedup"))

        encoder_latency = cls(
            sequence_length=sequence_length,
            baseline_ms_p50=baseline_ms_p50,
            optimized_ms_p50=optimized_ms_p50,
            speedup=speedup,
        )

        encoder_latency.additional_properties = d
        return encoder_latency

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
