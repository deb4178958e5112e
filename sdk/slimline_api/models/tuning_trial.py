from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.tuning_trial_state import TuningTrialState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tuning_trial_metrics_type_0 import TuningTrialMetricsType0
    from ..models.tuning_trial_params import TuningTrialParams


T = TypeVar("T", bound="TuningTrial")


@_attrs_define
class TuningTrial:
    """One trial of the tuning study: the options it tried and what was measured.

    Attributes:
        number (int):
        phase (str): `reference` (the passes as written), `greedy` (float-node fallback) or `search`.
        state (TuningTrialState):
        params (TuningTrialParams):
        score (float | None): The objective as a gain over the input (speedup, size reduction…).
        metrics (None | TuningTrialMetricsType0): Measured quality, latency, size; null when it failed.
        float_nodes (list[str]): Nodes this trial kept in float because of their sensitivity.
        summary (str):
        duplicate_of (int | None | Unset):
        error (None | str | Unset):
    """

    number: int
    phase: str
    state: TuningTrialState
    params: TuningTrialParams
    score: float | None
    metrics: None | TuningTrialMetricsType0
    float_nodes: list[str]
    summary: str
    duplicate_of: int | None | Unset = UNSET
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tuning_trial_metrics_type_0 import TuningTrialMetricsType0

        number = self.number

        phase = self.phase

        state = self.state.value

        params = self.params.to_dict()

        score: float | None
        score = self.score

        metrics: dict[str, Any] | None
        if isinstance(self.metrics, TuningTrialMetricsType0):
            metrics = self.metrics.to_dict()
        else:
            metrics = self.metrics

        float_nodes = self.float_nodes

        summary = self.summary

        duplicate_of: int | None | Unset
        if isinstance(self.duplicate_of, Unset):
            duplicate_of = UNSET
        else:
            duplicate_of = self.duplicate_of

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "number": number,
                "phase": phase,
                "state": state,
                "params": params,
                "score": score,
                "metrics": metrics,
                "float_nodes": float_nodes,
                "summary": summary,
            }
        )
        if duplicate_of is not UNSET:
            field_dict["duplicate_of"] = duplicate_of
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.tuning_trial_metrics_type_0 import TuningTrialMetricsType0
        from ..models.tuning_trial_params import TuningTrialParams

        d = dict(src_dict)
        number = d.pop("number")

        phase = d.pop("phase")

        state = TuningTrialState(d.pop("state"))

        params = TuningTrialParams.from_dict(d.pop("params"))

        def _parse_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        score = _parse_score(d.pop("score"))

        def _parse_metrics(data: object) -> None | TuningTrialMetricsType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metrics_type_0 = TuningTrialMetricsType0.from_dict(data)

                return metrics_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TuningTrialMetricsType0, data)

        metrics = _parse_metrics(d.pop("metrics"))

        float_nodes = cast(list[str], d.pop("float_nodes"))

        summary = d.pop("summary")

        def _parse_duplicate_of(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duplicate_of = _parse_duplicate_of(d.pop("duplicate_of", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        tuning_trial = cls(
            number=number,
            phase=phase,
            state=state,
            params=params,
            score=score,
            metrics=metrics,
            float_nodes=float_nodes,
            summary=summary,
            duplicate_of=duplicate_of,
            error=error,
        )

        tuning_trial.additional_properties = d
        return tuning_trial

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
