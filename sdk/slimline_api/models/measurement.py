from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.accuracy import Accuracy
    from ..models.fidelity import Fidelity
    from ..models.output_quality import OutputQuality


T = TypeVar("T", bound="Measurement")


@_attrs_define
class Measurement:
    """One model, measured on this machine in this job.

    Attributes:
        size_bytes (int):
        parameter_count (int):
        sparsity (float):
        latency_ms_p50 (float):
        latency_ms_p95 (float):
        throughput_per_s (float):
        fidelity (Fidelity): Agreement of the first output with the original model's (every output, judged, is in
            ``per_output``).
        accuracy (Accuracy | None | Unset):
        per_output (list[OutputQuality] | Unset):
        latency_ms_rounds (list[list[float]] | None | Unset): Every timed run in ms, round by round ([round][run]): the
            interleaved rounds the speedup interval resamples (the latency distribution). Absent in reports written before
            it.
    """

    size_bytes: int
    parameter_count: int
    sparsity: float
    latency_ms_p50: float
    latency_ms_p95: float
    throughput_per_s: float
    fidelity: Fidelity
    accuracy: Accuracy | None | Unset = UNSET
    per_output: list[OutputQuality] | Unset = UNSET
    latency_ms_rounds: list[list[float]] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.accuracy import Accuracy

        size_bytes = self.size_bytes

        parameter_count = self.parameter_count

        sparsity = self.sparsity

        latency_ms_p50 = self.latency_ms_p50

        latency_ms_p95 = self.latency_ms_p95

        throughput_per_s = self.throughput_per_s

        fidelity = self.fidelity.to_dict()

        accuracy: dict[str, Any] | None | Unset
        if isinstance(self.accuracy, Unset):
            accuracy = UNSET
        elif isinstance(self.accuracy, Accuracy):
            accuracy = self.accuracy.to_dict()
        else:
            accuracy = self.accuracy

        per_output: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.per_output, Unset):
            per_output = []
            for per_output_item_data in self.per_output:
                per_output_item = per_output_item_data.to_dict()
                per_output.append(per_output_item)

        latency_ms_rounds: list[list[float]] | None | Unset
        if isinstance(self.latency_ms_rounds, Unset):
            latency_ms_rounds = UNSET
        elif isinstance(self.latency_ms_rounds, list):
            latency_ms_rounds = []
            for latency_ms_rounds_type_0_item_data in self.latency_ms_rounds:
                latency_ms_rounds_type_0_item = latency_ms_rounds_type_0_item_data

                latency_ms_rounds.append(latency_ms_rounds_type_0_item)

        else:
            latency_ms_rounds = self.latency_ms_rounds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "size_bytes": size_bytes,
                "parameter_count": parameter_count,
                "sparsity": sparsity,
                "latency_ms_p50": latency_ms_p50,
                "latency_ms_p95": latency_ms_p95,
                "throughput_per_s": throughput_per_s,
                "fidelity": fidelity,
            }
        )
        if accuracy is not UNSET:
            field_dict["accuracy"] = accuracy
        if per_output is not UNSET:
            field_dict["per_output"] = per_output
        if latency_ms_rounds is not UNSET:
            field_dict["latency_ms_rounds"] = latency_ms_rounds

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.accuracy import Accuracy
        from ..models.fidelity import Fidelity
        from ..models.output_quality import OutputQuality

        d = dict(src_dict)
        size_bytes = d.pop("size_bytes")

        parameter_count = d.pop("parameter_count")

        sparsity = d.pop("sparsity")

        latency_ms_p50 = d.pop("latency_ms_p50")

        latency_ms_p95 = d.pop("latency_ms_p95")

        throughput_per_s = d.pop("throughput_per_s")

        fidelity = Fidelity.from_dict(d.pop("fidelity"))

        def _parse_accuracy(data: object) -> Accuracy | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                accuracy_type_0 = Accuracy.from_dict(data)

                return accuracy_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Accuracy | None | Unset, data)

        accuracy = _parse_accuracy(d.pop("accuracy", UNSET))

        _per_output = d.pop("per_output", UNSET)
        per_output: list[OutputQuality] | Unset = UNSET
        if _per_output is not UNSET:
            per_output = []
            for per_output_item_data in _per_output:
                per_output_item = OutputQuality.from_dict(per_output_item_data)

                per_output.append(per_output_item)

        def _parse_latency_ms_rounds(data: object) -> list[list[float]] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                latency_ms_rounds_type_0 = []
                _latency_ms_rounds_type_0 = data
                for latency_ms_rounds_type_0_item_data in _latency_ms_rounds_type_0:
                    latency_ms_rounds_type_0_item = cast(
                        list[float], latency_ms_rounds_type_0_item_data
                    )

                    latency_ms_rounds_type_0.append(latency_ms_rounds_type_0_item)

                return latency_ms_rounds_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[list[float]] | None | Unset, data)

        latency_ms_rounds = _parse_latency_ms_rounds(d.pop("latency_ms_rounds", UNSET))

        measurement = cls(
            size_bytes=size_bytes,
            parameter_count=parameter_count,
            sparsity=sparsity,
            latency_ms_p50=latency_ms_p50,
            latency_ms_p95=latency_ms_p95,
            throughput_per_s=throughput_per_s,
            fidelity=fidelity,
            accuracy=accuracy,
            per_output=per_output,
            latency_ms_rounds=latency_ms_rounds,
        )

        measurement.additional_properties = d
        return measurement

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
