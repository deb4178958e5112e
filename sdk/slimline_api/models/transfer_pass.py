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

from ..models.transfer_pass_device import TransferPassDevice
from ..models.transfer_pass_mode import TransferPassMode
from ..models.transfer_pass_task import TransferPassTask
from ..types import UNSET, Unset

T = TypeVar("T", bound="TransferPass")


@_attrs_define
class TransferPass:
    """Teach a pretrained model the dataset's classes: a new head on its features, trained on the labels.

    The feature tensor is the input of the final classifier layer (the last Gemm/MatMul before any Softmax),
    or the tensor `feature` names. The head is replaced with a linear layer for the labels' K classes (K may
    differ from the model's outputs) and trained on the calibration split; the evaluation split judges it.
    Later passes in the same recipe (prune, quantize) compress the transferred model, and their quality limit
    is judged against it (the original model's outputs mean other classes).

        Attributes:
            type_ (Literal['transfer'] | Unset):  Default: 'transfer'.
            mode (TransferPassMode | Unset): `probe`: only the new head trains (the backbone frozen; its features are
                computed once with onnxruntime). `finetune`: a fresh head and the last `blocks` weight layers of the backbone
                train together (the backbone at `backbone_lr`); the probe is still measured, as its baseline. Default:
                TransferPassMode.FINETUNE.
            task (TransferPassTask | Unset): `classification`: integer labels 0..K-1, cross-entropy, accuracy/F1.
                `regression`: float labels (one value, or a row of K values per sample), mean squared error, MAE and R².
                Default: TransferPassTask.CLASSIFICATION.
            feature (None | str | Unset): The tensor the new head reads. Unset: the input of the final classifier
                Gemm/MatMul.
            blocks (int | Literal['all'] | Unset): `finetune`: how many of the backbone's last weight layers
                (Conv/Gemm/MatMul, with the normalization layers after them) train besides the head; `all`: the whole backbone.
                Default: 'all'.
            epochs (int | Literal['auto'] | Unset): `finetune` (and `compare_scratch`): passes over the training data.
                `auto`: a fifth of the calibration split (seeded; never the evaluation split; only when that is 50 samples or
                more, else every sample trains until the training loss stops improving) is held out and scored after every epoch
                (accuracy, ties broken by loss; mean squared error for regression) until `patience` epochs bring no improvement,
                or `max_epochs` or `max_seconds`; then the model trains again from its starting weights on the whole calibration
                split for the best epoch count. A number: exactly that many epochs on the whole calibration split. Default:
                'auto'.
            max_epochs (int | Unset): With `epochs: auto`: the most epochs trained. Default: 100.
            patience (int | Unset): With `epochs: auto`: epochs without improvement on validation before stopping. Default:
                10.
            max_seconds (float | None | Unset): With `epochs: auto`: the time budget of each training run (unset: none).
            lr (float | Unset): Adam learning rate of the head (fine-tuning, scratch). Default: 0.003.
            backbone_lr (float | None | Unset): Adam learning rate of the backbone's trained layers. Unset: `lr` / 3.
            weight_decay (float | Unset): L2 penalty (the probe's and the optimizers'). Default: 0.0001.
            batch_size (int | Unset): Training batch size. Default: 32.
            compare_scratch (bool | Unset): Also train the same architecture from random weights on the same data, for as
                long, and report which won and by how much. Default: False.
            device (TransferPassDevice | Unset): Where training runs, as for `finetune.device`: `auto` (the GPU for a cuda
                target when the worker's PyTorch sees one), `cpu`, or `cuda` (a GPU or the `no_gpu` error). Default:
                TransferPassDevice.AUTO.
            seed (int | Unset): Seeds the head's initialisation and the batch order. Default: 0.
    """

    type_: Literal["transfer"] | Unset = "transfer"
    mode: TransferPassMode | Unset = TransferPassMode.FINETUNE
    task: TransferPassTask | Unset = TransferPassTask.CLASSIFICATION
    feature: None | str | Unset = UNSET
    blocks: int | Literal["all"] | Unset = "all"
    epochs: int | Literal["auto"] | Unset = "auto"
    max_epochs: int | Unset = 100
    patience: int | Unset = 10
    max_seconds: float | None | Unset = UNSET
    lr: float | Unset = 0.003
    backbone_lr: float | None | Unset = UNSET
    weight_decay: float | Unset = 0.0001
    batch_size: int | Unset = 32
    compare_scratch: bool | Unset = False
    device: TransferPassDevice | Unset = TransferPassDevice.AUTO
    seed: int | Unset = 0

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode.value

        task: str | Unset = UNSET
        if not isinstance(self.task, Unset):
            task = self.task.value

        feature: None | str | Unset
        if isinstance(self.feature, Unset):
            feature = UNSET
        else:
            feature = self.feature

        blocks: int | Literal["all"] | Unset
        if isinstance(self.blocks, Unset):
            blocks = UNSET
        else:
            blocks = self.blocks

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

        backbone_lr: float | None | Unset
        if isinstance(self.backbone_lr, Unset):
            backbone_lr = UNSET
        else:
            backbone_lr = self.backbone_lr

        weight_decay = self.weight_decay

        batch_size = self.batch_size

        compare_scratch = self.compare_scratch

        device: str | Unset = UNSET
        if not isinstance(self.device, Unset):
            device = self.device.value

        seed = self.seed

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if type_ is not UNSET:
            field_dict["type"] = type_
        if mode is not UNSET:
            field_dict["mode"] = mode
        if task is not UNSET:
            field_dict["task"] = task
        if feature is not UNSET:
            field_dict["feature"] = feature
        if blocks is not UNSET:
            field_dict["blocks"] = blocks
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
        if backbone_lr is not UNSET:
            field_dict["backbone_lr"] = backbone_lr
        if weight_decay is not UNSET:
            field_dict["weight_decay"] = weight_decay
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if compare_scratch is not UNSET:
            field_dict["compare_scratch"] = compare_scratch
        if device is not UNSET:
            field_dict["device"] = device
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = cast(Literal["transfer"] | Unset, d.pop("type", UNSET))
        if type_ != "transfer" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'transfer', got '{type_}'")

        _mode = d.pop("mode", UNSET)
        mode: TransferPassMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = TransferPassMode(_mode)

        _task = d.pop("task", UNSET)
        task: TransferPassTask | Unset
        if isinstance(_task, Unset):
            task = UNSET
        else:
            task = TransferPassTask(_task)

        def _parse_feature(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        feature = _parse_feature(d.pop("feature", UNSET))

        def _parse_blocks(data: object) -> int | Literal["all"] | Unset:
            if isinstance(data, Unset):
                return data
            blocks_type_1 = cast(Literal["all"], data)
            if blocks_type_1 != "all":
                raise ValueError(
                    f"blocks_type_1 must match const 'all', got '{blocks_type_1}'"
                )
            return blocks_type_1
            return cast(int | Literal["all"] | Unset, data)

        blocks = _parse_blocks(d.pop("blocks", UNSET))

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

        def _parse_backbone_lr(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        backbone_lr = _parse_backbone_lr(d.pop("backbone_lr", UNSET))

        weight_decay = d.pop("weight_decay", UNSET)

        batch_size = d.pop("batch_size", UNSET)

        compare_scratch = d.pop("compare_scratch", UNSET)

        _device = d.pop("device", UNSET)
        device: TransferPassDevice | Unset
        if isinstance(_device, Unset):
            device = UNSET
        else:
            device = TransferPassDevice(_device)

        seed = d.pop("seed", UNSET)

        transfer_pass = cls(
            type_=type_,
            mode=mode,
            task=task,
            feature=feature,
            blocks=blocks,
            epochs=epochs,
            max_epochs=max_epochs,
            patience=patience,
            max_seconds=max_seconds,
            lr=lr,
            backbone_lr=backbone_lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            compare_scratch=compare_scratch,
            device=device,
            seed=seed,
        )

        return transfer_pass
