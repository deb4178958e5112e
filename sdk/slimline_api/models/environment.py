from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.environment_libraries import EnvironmentLibraries
    from ..models.preflight import Preflight


T = TypeVar("T", bound="Environment")


@_attrs_define
class Environment:
    """
    Attributes:
        device (str):
        providers (list[str]): The onnxruntime execution providers every model was measured with.
        threads (int):
        batch_size (int):
        cpu (str): The CPU's model name.
        latency_runs (int):
        libraries (EnvironmentLibraries):
        hardware_class (str | Unset): The hardware class of the worker that ran the job (`cpu-avx2`, `cpu-avx512-vnni`,
            `cuda-sm90`…; docs/deploy.md); empty in reports written before it was recorded. Default: ''.
        cpu_flags (list[str] | Unset): The CPU's int8-relevant features (avx2, avx512f, avx512_vnni, avx_vnni, amx_int8,
            asimddp…): int8 speed and exactness depend on them.
        preflight (Preflight | Unset): What the hardware favours, decided before any candidate is built
            (worker/engine/preflight.py).
    """

    device: str
    providers: list[str]
    threads: int
    batch_size: int
    cpu: str
    latency_runs: int
    libraries: EnvironmentLibraries
    hardware_class: str | Unset = ""
    cpu_flags: list[str] | Unset = UNSET
    preflight: Preflight | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        device = self.device

        providers = self.providers

        threads = self.threads

        batch_size = self.batch_size

        cpu = self.cpu

        latency_runs = self.latency_runs

        libraries = self.libraries.to_dict()

        hardware_class = self.hardware_class

        cpu_flags: list[str] | Unset = UNSET
        if not isinstance(self.cpu_flags, Unset):
            cpu_flags = self.cpu_flags

        preflight: dict[str, Any] | Unset = UNSET
        if not isinstance(self.preflight, Unset):
            preflight = self.preflight.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "device": device,
                "providers": providers,
                "threads": threads,
                "batch_size": batch_size,
                "cpu": cpu,
                "latency_runs": latency_runs,
                "libraries": libraries,
            }
        )
        if hardware_class is not UNSET:
            field_dict["hardware_class"] = hardware_class
        if cpu_flags is not UNSET:
            field_dict["cpu_flags"] = cpu_flags
        if preflight is not UNSET:
            field_dict["preflight"] = preflight

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.environment_libraries import EnvironmentLibraries
        from ..models.preflight import Preflight

        d = dict(src_dict)
        device = d.pop("device")

        providers = cast(list[str], d.pop("providers"))

        threads = d.pop("threads")

        batch_size = d.pop("batch_size")

        cpu = d.pop("cpu")

        latency_runs = d.pop("latency_runs")

        libraries = EnvironmentLibraries.from_dict(d.pop("libraries"))

        hardware_class = d.pop("hardware_class", UNSET)

        cpu_flags = cast(list[str], d.pop("cpu_flags", UNSET))

        _preflight = d.pop("preflight", UNSET)
        preflight: Preflight | Unset
        if isinstance(_preflight, Unset):
            preflight = UNSET
        else:
            preflight = Preflight.from_dict(_preflight)

        environment = cls(
            device=device,
            providers=providers,
            threads=threads,
            batch_size=batch_size,
            cpu=cpu,
            latency_runs=latency_runs,
            libraries=libraries,
            hardware_class=hardware_class,
            cpu_flags=cpu_flags,
            preflight=preflight,
        )

        environment.additional_properties = d
        return environment

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
