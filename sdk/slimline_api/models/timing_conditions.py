from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TimingConditions")


@_attrs_define
class TimingConditions:
    """How the machine behaved while the baseline and the result were timed.

    Attributes:
        noisy (bool):
        reasons (list[str]):
        steal_percent (float | None):
        load_average (float | None):
        cpus (int):
        widest_interval (float): Widest speedup interval, as a fraction of its ratio.
        rounds (int):
        runs_per_round (int):
    """

    noisy: bool
    reasons: list[str]
    steal_percent: float | None
    load_average: float | None
    cpus: int
    widest_interval: float
    rounds: int
    runs_per_round: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        noisy = self.noisy

        reasons = self.reasons

        steal_percent: float | None
        steal_percent = self.steal_percent

        load_average: float | None
        load_average = self.load_average

        cpus = self.cpus

        widest_interval = self.widest_interval

        rounds = self.rounds

        runs_per_round = self.runs_per_round

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "noisy": noisy,
                "reasons": reasons,
                "steal_percent": steal_percent,
                "load_average": load_average,
                "cpus": cpus,
                "widest_interval": widest_interval,
                "rounds": rounds,
                "runs_per_round": runs_per_round,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        noisy = d.pop("noisy")

        reasons = cast(list[str], d.pop("reasons"))

        def _parse_steal_percent(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        steal_percent = _parse_steal_percent(d.pop("steal_percent"))

        def _parse_load_average(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        load_average = _parse_load_average(d.pop("load_average"))

        cpus = d.pop("cpus")

        widest_interval = d.pop("widest_interval")

        rounds = d.pop("rounds")

        runs_per_round = d.pop("runs_per_round")

        timing_conditions = cls(
            noisy=noisy,
            reasons=reasons,
            steal_percent=steal_percent,
            load_average=load_average,
            cpus=cpus,
            widest_interval=widest_interval,
            rounds=rounds,
            runs_per_round=runs_per_round,
        )

        timing_conditions.additional_properties = d
        return timing_conditions

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
