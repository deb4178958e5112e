from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.target_device import TargetDevice
from ..types import UNSET, Unset

T = TypeVar("T", bound="Target")


@_attrs_define
class Target:
    """Where the optimized model will run; latency is measured there.

    Attributes:
        device (TargetDevice | Unset):  Default: TargetDevice.CPU.
        batch_size (int | Unset): Batch size used to measure latency. Default: 1.
        hardware (list[str] | None | str | Unset): The hardware class the job must run and be measured on (`GET
            /v1/hardware` lists them; docs/deploy.md has the mapping: `cpu-avx2`, `cpu-avx512-vnni`, `cpu-amx`, `cuda-sm90`,
            ...). The job never runs on another class; while no worker of the class is live it waits queued with
            `status_reason: waiting_for_hardware`. A list runs the job once per class (a child job each, with its own
            artifacts and verdict) and compares them. Unset: any worker of the device's queue.
    """

    device: TargetDevice | Unset = TargetDevice.CPU
    batch_size: int | Unset = 1
    hardware: list[str] | None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        device: str | Unset = UNSET
        if not isinstance(self.device, Unset):
            device = self.device.value

        batch_size = self.batch_size

        hardware: list[str] | None | str | Unset
        if isinstance(self.hardware, Unset):
            hardware = UNSET
        elif isinstance(self.hardware, list):
            hardware = self.hardware

        else:
            hardware = self.hardware

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if device is not UNSET:
            field_dict["device"] = device
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if hardware is not UNSET:
            field_dict["hardware"] = hardware

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _device = d.pop("device", UNSET)
        device: TargetDevice | Unset
        if isinstance(_device, Unset):
            device = UNSET
        else:
            device = TargetDevice(_device)

        batch_size = d.pop("batch_size", UNSET)

        def _parse_hardware(data: object) -> list[str] | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                hardware_type_1 = cast(list[str], data)

                return hardware_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | str | Unset, data)

        hardware = _parse_hardware(d.pop("hardware", UNSET))

        target = cls(
            device=device,
            batch_size=batch_size,
            hardware=hardware,
        )

        return target
