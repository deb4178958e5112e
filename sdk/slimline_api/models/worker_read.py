from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.worker_read_state import WorkerReadState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gpu_read import GpuRead


T = TypeVar("T", bound="WorkerRead")


@_attrs_define
class WorkerRead:
    """
    Attributes:
        id (str): The Celery node name (jobs' events name it: `running on <id>`).
        host (str):
        hardware_class (str):
        queues (list[str]):
        concurrency (int):
        state (WorkerReadState):
        current_jobs (list[str]):
        started_at (datetime.datetime):
        heartbeat_at (datetime.datetime):
        detected_class (None | str | Unset): What detection found; differs from `hardware_class` when the operator
            overrode it.
        machine (None | str | Unset):
        cpu_model (None | str | Unset):
        cpu_cores (int | None | Unset):
        memory_bytes (int | None | Unset):
        cpu_features (list[str] | Unset): The int8-relevant ISA flags present.
        gpu (GpuRead | None | Unset):
        providers (list[str] | Unset): onnxruntime's execution providers.
        onnxruntime_version (None | str | Unset):
        torch_version (None | str | Unset):
        slimline_version (None | str | Unset):
    """

    id: str
    host: str
    hardware_class: str
    queues: list[str]
    concurrency: int
    state: WorkerReadState
    current_jobs: list[str]
    started_at: datetime.datetime
    heartbeat_at: datetime.datetime
    detected_class: None | str | Unset = UNSET
    machine: None | str | Unset = UNSET
    cpu_model: None | str | Unset = UNSET
    cpu_cores: int | None | Unset = UNSET
    memory_bytes: int | None | Unset = UNSET
    cpu_features: list[str] | Unset = UNSET
    gpu: GpuRead | None | Unset = UNSET
    providers: list[str] | Unset = UNSET
    onnxruntime_version: None | str | Unset = UNSET
    torch_version: None | str | Unset = UNSET
    slimline_version: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.gpu_read import GpuRead

        id = self.id

        host = self.host

        hardware_class = self.hardware_class

        queues = self.queues

        concurrency = self.concurrency

        state = self.state.value

        current_jobs = self.current_jobs

        started_at = self.started_at.isoformat()

        heartbeat_at = self.heartbeat_at.isoformat()

        detected_class: None | str | Unset
        if isinstance(self.detected_class, Unset):
            detected_class = UNSET
        else:
            detected_class = self.detected_class

        machine: None | str | Unset
        if isinstance(self.machine, Unset):
            machine = UNSET
        else:
            machine = self.machine

        cpu_model: None | str | Unset
        if isinstance(self.cpu_model, Unset):
            cpu_model = UNSET
        else:
            cpu_model = self.cpu_model

        cpu_cores: int | None | Unset
        if isinstance(self.cpu_cores, Unset):
            cpu_cores = UNSET
        else:
            cpu_cores = self.cpu_cores

        memory_bytes: int | None | Unset
        if isinstance(self.memory_bytes, Unset):
            memory_bytes = UNSET
        else:
            memory_bytes = self.memory_bytes

        cpu_features: list[str] | Unset = UNSET
        if not isinstance(self.cpu_features, Unset):
            cpu_features = self.cpu_features

        gpu: dict[str, Any] | None | Unset
        if isinstance(self.gpu, Unset):
            gpu = UNSET
        elif isinstance(self.gpu, GpuRead):
            gpu = self.gpu.to_dict()
        else:
            gpu = self.gpu

        providers: list[str] | Unset = UNSET
        if not isinstance(self.providers, Unset):
            providers = self.providers

        onnxruntime_version: None | str | Unset
        if isinstance(self.onnxruntime_version, Unset):
            onnxruntime_version = UNSET
        else:
            onnxruntime_version = self.onnxruntime_version

        torch_version: None | str | Unset
        if isinstance(self.torch_version, Unset):
            torch_version = UNSET
        else:
            torch_version = self.torch_version

        slimline_version: None | str | Unset
        if isinstance(self.slimline_version, Unset):
            slimline_version = UNSET
        else:
            slimline_version = self.slimline_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "host": host,
                "hardware_class": hardware_class,
                "queues": queues,
                "concurrency": concurrency,
                "state": state,
                "current_jobs": current_jobs,
                "started_at": started_at,
                "heartbeat_at": heartbeat_at,
            }
        )
        if detected_class is not UNSET:
            field_dict["detected_class"] = detected_class
        if machine is not UNSET:
            field_dict["machine"] = machine
        if cpu_model is not UNSET:
            field_dict["cpu_model"] = cpu_model
        if cpu_cores is not UNSET:
            field_dict["cpu_cores"] = cpu_cores
        if memory_bytes is not UNSET:
            field_dict["memory_bytes"] = memory_bytes
        if cpu_features is not UNSET:
            field_dict["cpu_features"] = cpu_features
        if gpu is not UNSET:
            field_dict["gpu"] = gpu
        if providers is not UNSET:
            field_dict["providers"] = providers
        if onnxruntime_version is not UNSET:
            field_dict["onnxruntime_version"] = onnxruntime_version
        if torch_version is not UNSET:
            field_dict["torch_version"] = torch_version
        if slimline_version is not UNSET:
            field_dict["slimline_version"] = slimline_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.gpu_read import GpuRead

        d = dict(src_dict)
        id = d.pop("id")

        host = d.pop("host")

        hardware_class = d.pop("hardware_class")

        queues = cast(list[str], d.pop("queues"))

        concurrency = d.pop("concurrency")

        state = WorkerReadState(d.pop("state"))

        current_jobs = cast(list[str], d.pop("current_jobs"))

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        heartbeat_at = datetime.datetime.fromisoformat(d.pop("heartbeat_at"))

        def _parse_detected_class(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detected_class = _parse_detected_class(d.pop("detected_class", UNSET))

        def _parse_machine(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        machine = _parse_machine(d.pop("machine", UNSET))

        def _parse_cpu_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cpu_model = _parse_cpu_model(d.pop("cpu_model", UNSET))

        def _parse_cpu_cores(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        cpu_cores = _parse_cpu_cores(d.pop("cpu_cores", UNSET))

        def _parse_memory_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        memory_bytes = _parse_memory_bytes(d.pop("memory_bytes", UNSET))

        cpu_features = cast(list[str], d.pop("cpu_features", UNSET))

        def _parse_gpu(data: object) -> GpuRead | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gpu_type_0 = GpuRead.from_dict(data)

                return gpu_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GpuRead | None | Unset, data)

        gpu = _parse_gpu(d.pop("gpu", UNSET))

        providers = cast(list[str], d.pop("providers", UNSET))

        def _parse_onnxruntime_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        onnxruntime_version = _parse_onnxruntime_version(
            d.pop("onnxruntime_version", UNSET)
        )

        def _parse_torch_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        torch_version = _parse_torch_version(d.pop("torch_version", UNSET))

        def _parse_slimline_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slimline_version = _parse_slimline_version(d.pop("slimline_version", UNSET))

        worker_read = cls(
            id=id,
            host=host,
            hardware_class=hardware_class,
            queues=queues,
            concurrency=concurrency,
            state=state,
            current_jobs=current_jobs,
            started_at=started_at,
            heartbeat_at=heartbeat_at,
            detected_class=detected_class,
            machine=machine,
            cpu_model=cpu_model,
            cpu_cores=cpu_cores,
            memory_bytes=memory_bytes,
            cpu_features=cpu_features,
            gpu=gpu,
            providers=providers,
            onnxruntime_version=onnxruntime_version,
            torch_version=torch_version,
            slimline_version=slimline_version,
        )

        worker_read.additional_properties = d
        return worker_read

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
