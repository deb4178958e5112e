from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.target_run_status import TargetRunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error import JobError
    from ..models.job_result import JobResult


T = TypeVar("T", bound="TargetRun")


@_attrs_define
class TargetRun:
    """One target of a multi-target job: a child job on one hardware class, with its own result.

    Attributes:
        hardware_class (str):
        job_id (str): The target's own job: its events, artifacts and report.
        status (TargetRunStatus):
        progress (float):
        error (JobError | None):
        result (JobResult | None):
        status_reason (None | str | Unset):
    """

    hardware_class: str
    job_id: str
    status: TargetRunStatus
    progress: float
    error: JobError | None
    result: JobResult | None
    status_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError
        from ..models.job_result import JobResult

        hardware_class = self.hardware_class

        job_id = self.job_id

        status = self.status.value

        progress = self.progress

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

        status_reason: None | str | Unset
        if isinstance(self.status_reason, Unset):
            status_reason = UNSET
        else:
            status_reason = self.status_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hardware_class": hardware_class,
                "job_id": job_id,
                "status": status,
                "progress": progress,
                "error": error,
                "result": result,
            }
        )
        if status_reason is not UNSET:
            field_dict["status_reason"] = status_reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_error import JobError
        from ..models.job_result import JobResult

        d = dict(src_dict)
        hardware_class = d.pop("hardware_class")

        job_id = d.pop("job_id")

        status = TargetRunStatus(d.pop("status"))

        progress = d.pop("progress")

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

        def _parse_status_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status_reason = _parse_status_reason(d.pop("status_reason", UNSET))

        target_run = cls(
            hardware_class=hardware_class,
            job_id=job_id,
            status=status,
            progress=progress,
            error=error,
            result=result,
            status_reason=status_reason,
        )

        target_run.additional_properties = d
        return target_run

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
