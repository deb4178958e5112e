from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.tuning_objective import TuningObjective
from ..models.tuning_storage import TuningStorage

if TYPE_CHECKING:
    from ..models.pareto_point import ParetoPoint
    from ..models.sensitivity_entry import SensitivityEntry
    from ..models.tuning_limit import TuningLimit
    from ..models.tuning_trial import TuningTrial


T = TypeVar("T", bound="Tuning")


@_attrs_define
class Tuning:
    """
    Attributes:
        objective (TuningObjective):
        sampler (str):
        seed (int):
        trials_requested (int):
        trials_evaluated (int): Distinct candidates built and measured, earlier attempts included.
        resumed_trials (int): Trials found finished in the study when this attempt started.
        stopped (str): Why the search ended: `trials`, `timeout`, `grid exhausted`, …
        elapsed_s (float):
        study_name (str):
        storage (TuningStorage):
        limit (TuningLimit):
        trials (list[TuningTrial]):
        pareto (list[ParetoPoint]):
        best_trial (int | None):
        goal_met (bool):
        shortfall (None | str): When no candidate met the limit: the closest one's miss, in words.
        sensitivity (list[SensitivityEntry]):
    """

    objective: TuningObjective
    sampler: str
    seed: int
    trials_requested: int
    trials_evaluated: int
    resumed_trials: int
    stopped: str
    elapsed_s: float
    study_name: str
    storage: TuningStorage
    limit: TuningLimit
    trials: list[TuningTrial]
    pareto: list[ParetoPoint]
    best_trial: int | None
    goal_met: bool
    shortfall: None | str
    sensitivity: list[SensitivityEntry]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        objective = self.objective.value

        sampler = self.sampler

        seed = self.seed

        trials_requested = self.trials_requested

        trials_evaluated = self.trials_evaluated

        resumed_trials = self.resumed_trials

        stopped = self.stopped

        elapsed_s = self.elapsed_s

        study_name = self.study_name

        storage = self.storage.value

        limit = self.limit.to_dict()

        trials = []
        for trials_item_data in self.trials:
            trials_item = trials_item_data.to_dict()
            trials.append(trials_item)

        pareto = []
        for pareto_item_data in self.pareto:
            pareto_item = pareto_item_data.to_dict()
            pareto.append(pareto_item)

        best_trial: int | None
        best_trial = self.best_trial

        goal_met = self.goal_met

        shortfall: None | str
        shortfall = self.shortfall

        sensitivity = []
        for sensitivity_item_data in self.sensitivity:
            sensitivity_item = sensitivity_item_data.to_dict()
            sensitivity.append(sensitivity_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "objective": objective,
                "sampler": sampler,
                "seed": seed,
                "trials_requested": trials_requested,
                "trials_evaluated": trials_evaluated,
                "resumed_trials": resumed_trials,
                "stopped": stopped,
                "elapsed_s": elapsed_s,
                "study_name": study_name,
                "storage": storage,
                "limit": limit,
                "trials": trials,
                "pareto": pareto,
                "best_trial": best_trial,
                "goal_met": goal_met,
                "shortfall": shortfall,
                "sensitivity": sensitivity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pareto_point import ParetoPoint
        from ..models.sensitivity_entry import SensitivityEntry
        from ..models.tuning_limit import TuningLimit
        from ..models.tuning_trial import TuningTrial

        d = dict(src_dict)
        objective = TuningObjective(d.pop("objective"))

        sampler = d.pop("sampler")

        seed = d.pop("seed")

        trials_requested = d.pop("trials_requested")

        trials_evaluated = d.pop("trials_evaluated")

        resumed_trials = d.pop("resumed_trials")

        stopped = d.pop("stopped")

        elapsed_s = d.pop("elapsed_s")

        study_name = d.pop("study_name")

        storage = TuningStorage(d.pop("storage"))

        limit = TuningLimit.from_dict(d.pop("limit"))

        trials = []
        _trials = d.pop("trials")
        for trials_item_data in _trials:
            trials_item = TuningTrial.from_dict(trials_item_data)

            trials.append(trials_item)

        pareto = []
        _pareto = d.pop("pareto")
        for pareto_item_data in _pareto:
            pareto_item = ParetoPoint.from_dict(pareto_item_data)

            pareto.append(pareto_item)

        def _parse_best_trial(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        best_trial = _parse_best_trial(d.pop("best_trial"))

        goal_met = d.pop("goal_met")

        def _parse_shortfall(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        shortfall = _parse_shortfall(d.pop("shortfall"))

        sensitivity = []
        _sensitivity = d.pop("sensitivity")
        for sensitivity_item_data in _sensitivity:
            sensitivity_item = SensitivityEntry.from_dict(sensitivity_item_data)

            sensitivity.append(sensitivity_item)

        tuning = cls(
            objective=objective,
            sampler=sampler,
            seed=seed,
            trials_requested=trials_requested,
            trials_evaluated=trials_evaluated,
            resumed_trials=resumed_trials,
            stopped=stopped,
            elapsed_s=elapsed_s,
            study_name=study_name,
            storage=storage,
            limit=limit,
            trials=trials,
            pareto=pareto,
            best_trial=best_trial,
            goal_met=goal_met,
            shortfall=shortfall,
            sensitivity=sensitivity,
        )

        tuning.additional_properties = d
        return tuning

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
