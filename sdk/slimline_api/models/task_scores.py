from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.task_scores_task import TaskScoresTask
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.class_metrics import ClassMetrics


T = TypeVar("T", bound="TaskScores")


@_attrs_define
class TaskScores:
    """A model's task metrics on the evaluation split: classification or (after a regression transfer) regression.

    Attributes:
        task (TaskScoresTask):
        samples (int):
        accuracy (float | None | Unset):
        f1_macro (float | None | Unset):
        per_class (list[ClassMetrics] | Unset):
        confusion (list[list[int]] | Unset): confusion[i][j]: samples of class i predicted as class j.
        mse (float | None | Unset):
        mae (float | None | Unset):
        r2 (float | None | Unset):
    """

    task: TaskScoresTask
    samples: int
    accuracy: float | None | Unset = UNSET
    f1_macro: float | None | Unset = UNSET
    per_class: list[ClassMetrics] | Unset = UNSET
    confusion: list[list[int]] | Unset = UNSET
    mse: float | None | Unset = UNSET
    mae: float | None | Unset = UNSET
    r2: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task = self.task.value

        samples = self.samples

        accuracy: float | None | Unset
        if isinstance(self.accuracy, Unset):
            accuracy = UNSET
        else:
            accuracy = self.accuracy

        f1_macro: float | None | Unset
        if isinstance(self.f1_macro, Unset):
            f1_macro = UNSET
        else:
            f1_macro = self.f1_macro

        per_class: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.per_class, Unset):
            per_class = []
            for per_class_item_data in self.per_class:
                per_class_item = per_class_item_data.to_dict()
                per_class.append(per_class_item)

        confusion: list[list[int]] | Unset = UNSET
        if not isinstance(self.confusion, Unset):
            confusion = []
            for confusion_item_data in self.confusion:
                confusion_item = confusion_item_data

                confusion.append(confusion_item)

        mse: float | None | Unset
        if isinstance(self.mse, Unset):
            mse = UNSET
        else:
            mse = self.mse

        mae: float | None | Unset
        if isinstance(self.mae, Unset):
            mae = UNSET
        else:
            mae = self.mae

        r2: float | None | Unset
        if isinstance(self.r2, Unset):
            r2 = UNSET
        else:
            r2 = self.r2

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task": task,
                "samples": samples,
            }
        )
        if accuracy is not UNSET:
            field_dict["accuracy"] = accuracy
        if f1_macro is not UNSET:
            field_dict["f1_macro"] = f1_macro
        if per_class is not UNSET:
            field_dict["per_class"] = per_class
        if confusion is not UNSET:
            field_dict["confusion"] = confusion
        if mse is not UNSET:
            field_dict["mse"] = mse
        if mae is not UNSET:
            field_dict["mae"] = mae
        if r2 is not UNSET:
            field_dict["r2"] = r2

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.class_metrics import ClassMetrics

        d = dict(src_dict)
        task = TaskScoresTask(d.pop("task"))

        samples = d.pop("samples")

        def _parse_accuracy(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        accuracy = _parse_accuracy(d.pop("accuracy", UNSET))

        def _parse_f1_macro(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        f1_macro = _parse_f1_macro(d.pop("f1_macro", UNSET))

        _per_class = d.pop("per_class", UNSET)
        per_class: list[ClassMetrics] | Unset = UNSET
        if _per_class is not UNSET:
            per_class = []
            for per_class_item_data in _per_class:
                per_class_item = ClassMetrics.from_dict(per_class_item_data)

                per_class.append(per_class_item)

        _confusion = d.pop("confusion", UNSET)
        confusion: list[list[int]] | Unset = UNSET
        if _confusion is not UNSET:
            confusion = []
            for confusion_item_data in _confusion:
                confusion_item = cast(list[int], confusion_item_data)

                confusion.append(confusion_item)

        def _parse_mse(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mse = _parse_mse(d.pop("mse", UNSET))

        def _parse_mae(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        mae = _parse_mae(d.pop("mae", UNSET))

        def _parse_r2(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        r2 = _parse_r2(d.pop("r2", UNSET))

        task_scores = cls(
            task=task,
            samples=samples,
            accuracy=accuracy,
            f1_macro=f1_macro,
            per_class=per_class,
            confusion=confusion,
            mse=mse,
            mae=mae,
            r2=r2,
        )

        task_scores.additional_properties = d
        return task_scores

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
