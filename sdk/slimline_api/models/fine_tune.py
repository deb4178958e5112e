from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..models.fine_tune_device import FineTuneDevice
from ..models.fine_tune_schedule import FineTuneSchedule
from ..types import UNSET, Unset

T = TypeVar("T", bound="FineTune")


@_attrs_define
class FineTune:
    """Recovery training after pruning, on the calibration split (never the evaluation split).

    Attributes:
        epochs (int | Literal['auto'] | Unset): Passes over the training data. `auto`: a validation part (a fifth of the
            calibration split, seeded; never the evaluation split) is held out and judged after every epoch like the job's
            result (accuracy drop with labels, else fidelity to the unpruned model); training stops when the quality limit
            holds there with a margin and `patience` epochs bring no improvement, when `patience` epochs bring no
            improvement and it does not hold (the report suggests removing less), or at `max_epochs` or `max_seconds`; the
            best epoch's weights are kept. A number: exactly that many epochs on the whole calibration split, no validation.
            Default: 'auto'.
        max_epochs (int | Unset): With `epochs: auto`: the most epochs trained. Default: 60.
        patience (int | Unset): With `epochs: auto`: epochs without improvement on validation before stopping. Default:
            5.
        max_seconds (float | None | Unset): With `epochs: auto`: the training time budget; no epoch starts that would
            end past it. Unset: half the job's time limit (SLIMLINE_JOB_SOFT_TIME_LIMIT_S, 3600 s by default).
        lr (float | Unset): Adam learning rate (the peak, with `schedule: cosine`). Default: 0.001.
        schedule (FineTuneSchedule | Unset): Learning-rate schedule: `cosine` decays `lr` to zero over all the steps
            (the usual choice for recovery training: large steps first, then settling; needs a known number of epochs),
            `constant` keeps `lr`, `plateau` halves it after two epochs without improvement on validation (`epochs: auto`
            only). `auto`: cosine for a number of epochs, plateau for `epochs: auto`. Default: FineTuneSchedule.AUTO.
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

    epochs: int | Literal["auto"] | Unset = "auto"
    max_epochs: int | Unset = 60
    patience: int | Unset = 5
    max_seconds: float | None | Unset = UNSET
    lr: float | Unset = 0.001
    schedule: FineTuneSchedule | Unset = FineTuneSchedule.AUTO
    batch_size: int | Unset = 32
    distill: bool | Unset = False
    temperature: float | Unset = 2.0
    device: FineTuneDevice | Unset = FineTuneDevice.AUTO

    def to_dict(self) -> dict[str, Any]:
        epochs: int | Literal["auto"] | Unset
        if isinstance(self.epochs, Unset):
            epochs = UNSET
        else:
            epochs = self.epochs

        max_epochs = self.max_epochs

        patience = self.patience

        max_seconds: float | None | Unset
        if isinstance(self.max_seconds, Unset):
            max_seconds = UNSET
        else:
            max_seconds = self.max_seconds

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
        if max_epochs is not UNSET:
            field_dict["max_epochs"] = max_epochs
        if patience is not UNSET:
            field_dict["patience"] = patience
        if max_seconds is not UNSET:
            field_dict["max_seconds"] = max_seconds
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

        def _parse_epochs(data: object) -> int | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            epochs_type_1 = cast(Literal["auto"], data)
            if epochs_type_1 != "auto":
                raise ValueError(
                    f"epochs_type_1 must match const 'auto', got '{epochs_type_1}'"
                )
            return epochs_type_1
            return cast(int | Literal["auto"] | Unset, data)

        epochs = _parse_epochs(d.pop("epochs", UNSET))

        max_epochs = d.pop("max_epochs", UNSET)

        patience = d.pop("patience", UNSET)

        def _parse_max_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_seconds = _parse_max_seconds(d.pop("max_seconds", UNSET))

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
            max_epochs=max_epochs,
            patience=patience,
            max_seconds=max_seconds,
            lr=lr,
            schedule=schedule,
            batch_size=batch_size,
            distill=distill,
            temperature=temperature,
            device=device,
        )

        return fine_tune
