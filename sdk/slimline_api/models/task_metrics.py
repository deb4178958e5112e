from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_scores import TaskScores


T = TypeVar("T", bound="TaskMetrics")


@_attrs_define
class TaskMetrics:
    """Per-class (or regression) metrics of the baseline and the result, with labels.

    Attributes:
        output (str): The output the labels are judged on.
        baseline (TaskScores): A model's task metrics on the evaluation split: classification or (after a regression
            transfer) regression.
        optimized (TaskScores): A model's task metrics on the evaluation split: classification or (after a regression
            transfer) regression.
        label_names (list[str] | None | Unset):
    """

    output: str
    baseline: TaskScores
    optimized: TaskScores
    label_names: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        output = self.output

        baseline = self.baseline.to_dict()

        optimized = self.optimized.to_dict()

        label_names: list[str] | None | Unset
        if isinstance(self.label_names, Unset):
            label_names = UNSET
        elif isinstance(self.label_names, list):
            label_names = self.label_names

        else:
            label_names = self.label_names

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "output": output,
                "baseline": baseline,
                "optimized": optimized,
            }
        )
        if label_names is not UNSET:
            field_dict["label_names"] = label_names

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_scores import TaskScores

        d = dict(src_dict)
        output = d.pop("output")

        baseline = TaskScores.from_dict(d.pop("baseline"))

        optimized = TaskScores.from_dict(d.pop("optimized"))

        def _parse_label_names(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                label_names_type_0 = cast(list[str], data)

                return label_names_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        label_names = _parse_label_names(d.pop("label_names", UNSET))

        task_metrics = cls(
            output=output,
            baseline=baseline,
            optimized=optimized,
            label_names=label_names,
        )

        task_metrics.additional_properties = d
        return task_metrics

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
