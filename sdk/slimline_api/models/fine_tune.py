from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.fine_tune_device import FineTuneDevice
from ..models.fine_tune_schedule import FineTuneSchedule
from ..types import UNSET, Unset

T = TypeVar("T", bound="FineTune")


@_attrs_define
class FineTune:
    """Recovery training after pruning, on the calibration split (never the evaluation split).

    Attributes:
        epochs (int | Unset): Passes over the calibration split. Default: 3.
        lr (float | Unset): Adam learning rate (the peak, with `schedule: cosine`). Default: 0.001.
        schedule (FineTuneSchedule | Unset): Learning-rate schedule: `cosine` decays `lr` to zero over all the steps
            (the usual choice for recovery training: large steps first, then settling), `constant` keeps `lr`. Default:
            FineTuneSchedule.COSINE.
        batch_size (int | Unset): Training batch size. Default: 32.
        distill (bool | Unset): Also learn from the unpruned model's outputs (KL divergence on classifier logits, mean
            squared error on other outputs). With labels the loss is cross-entropy on the first output, plus distillation
            when this is true; a dataset without labels is always distilled. Default: False.
        temperature (float | Unset): Softmax temperature for distillation on logits. Default: 2.0.
        device (FineTuneDevice | Unset): Where the training runs (PyTorch). `auto`: on the GPU when the target is `cuda`
            and the worker's PyTorch sees one, else on the CPU. `cuda`: on a GPU whatever the target (a model for CPU
            deployment fine-tuned on a GPU worker); the job goes to the `gpu` queue and fails with `no_gpu` on a worker
            without one. `cpu`: always on the CPU. Latency and quality are still measured on the target. Default:
            FineTuneDevice.AUTO.
    """

    epochs: int | Unset = 3
    lr: float | Unset = 0.001
    schedule: FineTuneSchedule | Unset = FineTuneSchedule.COSINE
    batch_size: int | Unset = 32
    distill: bool | Unset = False
    temperature: float | Unset = 2.0
    device: FineTuneDevice | Unset = FineTuneDevice.AUTO

    def to_dict(self) -> dict[str, Any]:
        epochs = self.epochs

        lr = self.lr

        schedule: str | Unset = UNSET
        if not isinstance(self.schedule, Unset):
            schedule = self.schedule.value

        batch_size = self.batch_size

        distill = self.distill

        temperature = self.temperature

        device: str | Unset = UNSET
        if not isinstance(self.device, Unset):
            device = self.device.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if epochs is not UNSET:
            field_dict["epochs"] = epochs
        if lr is not UNSET:
            field_dict["lr"] = lr
        if schedule is not UNSET:
            field_dict["schedule"] = schedule
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if distill is not UNSET:
            field_dict["distill"] = distill
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if device is not UNSET:
            field_dict["device"] = device

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        epochs = d.pop("epochs", UNSET)

        lr = d.pop("lr", UNSET)

        _schedule = d.pop("schedule", UNSET)
        schedule: FineTuneSchedule | Unset
        if isinstance(_schedule, Unset):
            schedule = UNSET
        else:
            schedule = FineTuneSchedule(_schedule)

        batch_size = d.pop("batch_size", UNSET)

        distill = d.pop("distill", UNSET)

        temperature = d.pop("temperature", UNSET)

        _device = d.pop("device", UNSET)
        device: FineTuneDevice | Unset
        if isinstance(_device, Unset):
            device = UNSET
        else:
            device = FineTuneDevice(_device)

        fine_tune = cls(
            epochs=epochs,
            lr=lr,
            schedule=schedule,
            batch_size=batch_size,
            distill=distill,
            temperature=temperature,
            device=device,
        )

        return fine_tune
