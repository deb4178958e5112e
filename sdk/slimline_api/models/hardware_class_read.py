from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="HardwareClassRead")


@_attrs_define
class HardwareClassRead:
    """
    Attributes:
        hardware_class (str): A name for `target.hardware`.
        live_workers (int): Workers of this class beating now (0: jobs for it wait).
        busy_workers (int): Live workers running a job.
        queued_jobs (int): Jobs waiting for this class (every tenant's).
        running_jobs (int):
    """

    hardware_class: str
    live_workers: int
    busy_workers: int
    queued_jobs: int
    running_jobs: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hardware_class = self.hardware_class

        live_workers = self.live_workers

        busy_workers = self.busy_workers

        queued_jobs = self.queued_jobs

        running_jobs = self.running_jobs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hardware_class": hardware_class,
                "live_workers": live_workers,
                "busy_workers": busy_workers,
                "queued_jobs": queued_jobs,
                "running_jobs": running_jobs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        hardware_class = d.pop("hardware_class")

        live_workers = d.pop("live_workers")

        busy_workers = d.pop("busy_workers")

        queued_jobs = d.pop("queued_jobs")

        running_jobs = d.pop("running_jobs")

        hardware_class_read = cls(
            hardware_class=hardware_class,
            live_workers=live_workers,
            busy_workers=busy_workers,
            queued_jobs=queued_jobs,
            running_jobs=running_jobs,
        )

        hardware_class_read.additional_properties = d
        return hardware_class_read

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
