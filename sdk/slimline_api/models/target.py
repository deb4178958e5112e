from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

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
    """

    device: TargetDevice | Unset = TargetDevice.CPU
    batch_size: int | Unset = 1

    def to_dict(self) -> dict[str, Any]:
        device: str | Unset = UNSET
        if not isinstance(self.device, Unset):
            device = self.device.value

        batch_size = self.batch_size

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if device is not UNSET:
            field_dict["device"] = device
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size

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

        target = cls(
            device=device,
            batch_size=batch_size,
        )

        return target
