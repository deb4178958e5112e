from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_read_status import JobReadStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error import JobError
    from ..models.job_result import JobResult
    from ..models.recipe import Recipe
    from ..models.target_run import TargetRun


T = TypeVar("T", bound="JobRead")


@_attrs_define
class JobRead:
    """
    Attributes:
        id (str):
        status (JobReadStatus):
        stage (None | str):
        progress (float):
        model_id (str):
        dataset_id (str):
        recipe (Recipe): What to do to the model. A recipe that names nothing means: quantize, mode auto, on CPU.
        error (JobError | None):
        result (JobResult | None): Null until it succeeds; always null for a multi-target job.
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        attempts (int):
        webhook_url (None | str | Unset):
        status_reason (None | str | Unset): Why a queued job is not running yet: `waiting_for_hardware` while no live
            worker can take it (its class's workers, or the queue's, are all down); null once a worker has it.
        hardware_class (None | str | Unset): The class this job runs on (its recipe's single `target.hardware`); null:
            any worker.
        parent_id (None | str | Unset): For a target of a multi-target job: that job's id.
        targets (list[TargetRun] | None | Unset): A multi-target job (`target.hardware` a list): one run per class, each
            with its result. `GET /v1/jobs/{id}/artifacts/comparison.html` compares them side by side.
    """

    id: str
    status: JobReadStatus
    stage: None | str
    progress: float
    model_id: str
    dataset_id: str
    recipe: Recipe
    error: JobError | None
    result: JobResult | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    attempts: int
    webhook_url: None | str | Unset = UNSET
    status_reason: None | str | Unset = UNSET
    hardware_class: None | str | Unset = UNSET
    parent_id: None | str | Unset = UNSET
    targets: list[TargetRun] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError
        from ..models.job_result import JobResult

        id = self.id

        status = self.status.value

        stage: None | str
        stage = self.stage

        progress = self.progress

        model_id = self.model_id

        dataset_id = self.dataset_id

        recipe = self.recipe.to_dict()

        error: dict[str, Any] | None
        if isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        result: dict[str, Any] | None
        if isinstance(self.result, JobResult):
            result = self.result.to_dict()
        else:
            result = self.result

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        attempts = self.attempts

        webhook_url: None | str | Unset
        if isinstance(self.webhook_url, Unset):
            webhook_url = UNSET
        else:
            webhook_url = self.webhook_url

        status_reason: None | str | Unset
        if isinstance(self.status_reason, Unset):
            status_reason = UNSET
        else:
            status_reason = self.status_reason

        hardware_class: None | str | Unset
        if isinstance(self.hardware_class, Unset):
            hardware_class = UNSET
        else:
            hardware_class = self.hardware_class

        parent_id: None | str | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        targets: list[dict[str, Any]] | None | Unset
        if isinstance(self.targets, Unset):
            targets = UNSET
        elif isinstance(self.targets, list):
            targets = []
            for targets_type_0_item_data in self.targets:
                targets_type_0_item = targets_type_0_item_data.to_dict()
                targets.append(targets_type_0_item)

        else:
            targets = self.targets

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "stage": stage,
                "progress": progress,
                "model_id": model_id,
                "dataset_id": dataset_id,
                "recipe": recipe,
                "error": error,
                "result": result,
                "created_at": created_at,
                "updated_at": updated_at,
                "started_at": started_at,
                "finished_at": finished_at,
                "attempts": attempts,
            }
        )
        if webhook_url is not UNSET:
            field_dict["webhook_url"] = webhook_url
        if status_reason is not UNSET:
            field_dict["status_reason"] = status_reason
        if hardware_class is not UNSET:
            field_dict["hardware_class"] = hardware_class
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if targets is not UNSET:
            field_dict["targets"] = targets

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error import JobError
        from ..models.job_result import JobResult
        from ..models.recipe import Recipe
        from ..models.target_run import TargetRun

        d = dict(src_dict)
        id = d.pop("id")

        status = JobReadStatus(d.pop("status"))

        def _parse_stage(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        stage = _parse_stage(d.pop("stage"))

        progress = d.pop("progress")

        model_id = d.pop("model_id")

        dataset_id = d.pop("dataset_id")

        recipe = Recipe.from_dict(d.pop("recipe"))

        def _parse_error(data: object) -> JobError | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobError | None, data)

        error = _parse_error(d.pop("error"))

        def _parse_result(data: object) -> JobResult | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = JobResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobResult | None, data)

        result = _parse_result(d.pop("result"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        attempts = d.pop("attempts")

        def _parse_webhook_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        webhook_url = _parse_webhook_url(d.pop("webhook_url", UNSET))

        def _parse_status_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status_reason = _parse_status_reason(d.pop("status_reason", UNSET))

        def _parse_hardware_class(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hardware_class = _parse_hardware_class(d.pop("hardware_class", UNSET))

        def _parse_parent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))

        def _parse_targets(data: object) -> list[TargetRun] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                targets_type_0 = []
                _targets_type_0 = data
                for targets_type_0_item_data in _targets_type_0:
                    targets_type_0_item = TargetRun.from_dict(targets_type_0_item_data)

                    targets_type_0.append(targets_type_0_item)

                return targets_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[TargetRun] | None | Unset, data)

        targets = _parse_targets(d.pop("targets", UNSET))

        job_read = cls(
            id=id,
            status=status,
            stage=stage,
            progress=progress,
            model_id=model_id,
            dataset_id=dataset_id,
            recipe=recipe,
            error=error,
            result=result,
            created_at=created_at,
            updated_at=updated_at,
            started_at=started_at,
            finished_at=finished_at,
            attempts=attempts,
            webhook_url=webhook_url,
            status_reason=status_reason,
            hardware_class=hardware_class,
            parent_id=parent_id,
            targets=targets,
        )

        job_read.additional_properties = d
        return job_read

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
