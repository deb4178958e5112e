"""The transfer pass's training: a linear probe on cached features, fine-tuning the lifted backbone, scratch.

Only ``ctx.split.calibration`` is trained on (the evaluation split judges the result). Importing this
module imports torch; the pass imports it inside ``run``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.core.schemas.recipe import FineTune, TransferPass
from worker.engine import finetune
from worker.engine.context import PassContext
from worker.engine.errors import EngineError


@dataclass
class Task:
    """What the labels ask for: K classes (integer ids) or K regression targets per sample."""

    regression: bool
    width: int  # classes, or targets per sample
    targets: np.ndarray  # per sample: int64 class ids, or float32 [N, width]

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(scores, target) if self.regression else F.cross_entropy(scores, target)

    def tensor(self, indices: np.ndarray, device: torch.device) -> torch.Tensor:
        return torch.from_numpy(self.targets[indices]).to(device)


def task_of(ctx: PassContext, config: TransferPass, label_names: list[str] | None) -> Task:
    """The labels as a training target; EngineError ``invalid_labels`` when they do not fit the task."""
    labels = ctx.dataset.labels
    if labels is None:
        raise EngineError("invalid_labels", "the transfer pass needs labels: add a `labels` array to the dataset")
    if config.task == "regression":
        if labels.dtype.kind not in "iuf" or labels.ndim not in (1, 2):
            raise EngineError("invalid_labels", f"regression labels must be numbers, 1-D or 2-D, not {labels.dtype}")
        values = labels.astype(np.float32).reshape(len(labels), -1)
        return Task(True, values.shape[1], values)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise EngineError(
            "invalid_labels",
            f"classification labels must be one integer class id per sample, not {labels.dtype} "
            f"{list(labels.shape)} (for regression set transfer.task: regression)",
        )
    if labels.size and int(labels.min()) < 0:
        raise EngineError("invalid_labels", f"labels must be class ids 0..K-1; found {int(labels.min())}")
    classes = max(int(labels.max()) + 1, len(label_names or []))
    if classes < 2:
        raise EngineError("invalid_labels", "the labels name one class: a classifier needs at least 2")
    return Task(False, classes, labels.astype(np.int64))


def run_features(ctx: PassContext, session: Any, indices: np.ndarray, batch: int = 256) -> np.ndarray:
    """The backbone's feature rows ([N, D], flattened) for ``indices``, with onnxruntime (computed once)."""
    rows = []
    for _, feed in ctx.dataset.batches(indices, batch):
        ctx.reporter.check()
        (value,) = session.run(None, feed)
        rows.append(np.asarray(value, np.float32).reshape(len(value), -1))
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def fit_probe(features: np.ndarray, task: Task, indices: np.ndarray, weight_decay: float, seed: int) -> dict[str, Any]:
    """A linear head on frozen features: L-BFGS to convergence on standardised features (folded back; a
    feature's spread is floored at a tenth of the mean spread).

    Classification minimises mean cross-entropy + λ·|W|²/2 (multinomial logistic regression), regression the
    mean squared error + λ·|W|²/2 (ridge), with λ = max(``weight_decay``, 1 / samples): scikit-learn's
    default strength (C = 1) on standardised features. Returns the head's weight [K, D], bias [K] and what was done.
    """
    started = time.perf_counter()
    x = torch.from_numpy(features)
    mean, std = x.mean(0), x.std(0)
    # a feature that is almost always zero would get a huge folded weight (and wreck int8 weight scales later)
    std = std.clamp_min(max(1e-6, 0.1 * float(std[std > 0].mean()) if bool((std > 0).any()) else 1e-6))
    z = (x - mean) / std
    target = torch.from_numpy(task.targets[indices])
    torch.manual_seed(seed)
    head = nn.Linear(z.shape[1], task.width).double()
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    z64 = z.double()
    penalty = max(weight_decay, 1.0 / max(1, len(indices)))  # scikit-learn's LogisticRegression default (C=1)
    target = target.double() if task.regression else target
    optimizer = torch.optim.LBFGS(
        head.parameters(), lr=1.0, max_iter=500, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = task.loss(head(z64), target) + 0.5 * penalty * head.weight.pow(2).sum()
        loss.backward()
        return loss

    final = float(optimizer.step(closure).detach())  # type: ignore[union-attr]
    with torch.no_grad():
        weight = (head.weight / std.double()).float()
        bias = (head.bias - (head.weight * (mean / std).double()).sum(1)).float()
    return {
        "weight": weight.numpy(),
        "bias": bias.numpy(),
        "details": {
            "method": "L-BFGS on standardised features (folded into the weights)",
            "loss": "mean squared error" if task.regression else "cross-entropy",
            "final_loss": final,
            "seconds": round(time.perf_counter() - started, 3),
            "train_samples": int(len(indices)),
        },
    }


class Transferred(nn.Module):
    """The lifted backbone (inputs -> feature) and a new linear head on its flattened output."""

    def __init__(self, body: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.body, self.head = body, head

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(*inputs).flatten(1))


def trainable_layers(body: Any, layer_ops: dict[str, str], blocks: int | str) -> list[str]:
    """The backbone's layer keys that train: from the ``blocks``-th last weight layer on, norms included."""
    keys = list(body.layers)
    weighted = [k for k in keys if k in layer_ops and layer_ops[k] in ("Conv", "Gemm", "MatMul", "ConvTranspose")]
    if blocks == "all" or not weighted:
        return keys
    assert isinstance(blocks, int)
    first = keys.index(weighted[-min(blocks, len(weighted))])
    return keys[first:]


@dataclass
class Fit:
    """One network trained: the epoch policy's curve and stop reason, and the settings, as the report shows them."""

    details: dict[str, Any] = field(default_factory=dict)


def _train_mode(model: Transferred, frozen_norms: bool) -> None:
    model.train()
    if frozen_norms:  # a few hundred samples estimate batch statistics worse than the pretrained running ones
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def _inputs(feed: dict[str, np.ndarray], names: list[str], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.ascontiguousarray(feed[n])).to(device) for n in names)


def _validate(
    ctx: PassContext, model: Transferred, task: Task, names: list[str], indices: np.ndarray, device: torch.device
) -> tuple[float, float | None]:
    """(gap, metric) on the validation part: classification error + 0.01 × loss (accuracy first, ties by
    loss) and the accuracy; for regression the mean squared error, twice."""
    model.eval()
    wrong, loss, seen = 0.0, 0.0, 0
    with torch.no_grad():
        for chunk, feed in ctx.dataset.batches(indices, 256):
            scores = model(*_inputs(feed, names, device))
            target = task.tensor(chunk, device)
            loss += float(task.loss(scores, target)) * len(chunk)
            if not task.regression:
                wrong += float((scores.argmax(-1) != target).sum())
            seen += len(chunk)
    loss /= max(1, seen)
    if task.regression:
        return loss, loss
    error = wrong / max(1, seen)
    return error + 1e-2 * loss, 1.0 - error


MIN_VALIDATION = 50  # samples; fewer judge an epoch by noise (measured: 3 held out stopped at epoch 2, 18 %)


def validation_part(ctx: PassContext, config: TransferPass) -> tuple[np.ndarray, np.ndarray | None]:
    """(training indices, validation indices or None): ``epochs: auto`` holds out a seeded fifth when that
    is at least MIN_VALIDATION samples; with fewer, every sample trains and the training loss decides."""
    calibration = ctx.split.calibration
    held = round(len(calibration) / 5)
    if config.epochs != "auto" or held < MIN_VALIDATION:
        return calibration, None
    order = np.random.default_rng(config.seed + 1).permutation(calibration)
    return np.sort(order[held:]), np.sort(order[:held])


def _epochs(
    ctx: PassContext,
    model: Transferred,
    optimizer: torch.optim.Optimizer,
    policy: Any,
    split: tuple[np.ndarray, np.ndarray | None],
    setup: dict[str, Any],
) -> dict[str, torch.Tensor] | None:
    """Train epoch by epoch as ``policy`` says; returns the best epoch's weights (None without validation)."""
    task, config, names, device = setup["task"], setup["config"], setup["names"], setup["device"]
    train_on, validate_on = split
    rng = np.random.default_rng(config.seed)
    best: dict[str, torch.Tensor] | None = None
    start, end = setup["progress"]
    for epoch in policy:
        _train_mode(model, setup["frozen_norms"])
        total, batches = torch.zeros((), device=device), 0
        for chunk, feed in ctx.dataset.batches(rng.permutation(train_on), config.batch_size):
            ctx.reporter.check()  # cancellation between batches
            loss = task.loss(model(*_inputs(feed, names, device)), task.tensor(chunk, device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach()
            batches += 1
        train_loss = float(total) / max(1, batches)
        gap, metric = (train_loss if policy.auto else None), None  # no validation part: the loss converges
        if validate_on is not None:
            gap, metric = _validate(ctx, model, task, names, validate_on, device)
        if policy.record(train_loss=train_loss, gap=gap, metric=metric) and validate_on is not None:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        ctx.reporter.update(start + (end - start) * min(1.0, epoch / policy.max_epochs))
        measure = "MSE" if task.regression else "accuracy"
        shown = "" if metric is None else f", validation {measure} {metric:.4f}"
        ctx.reporter.log(
            f"transfer ({setup['label']}) epoch {epoch}: mean loss {train_loss:.4f}{shown}",
            data={"epoch": epoch, "loss": train_loss, "validation_metric": metric},
        )
    return best


def fit_network(
    ctx: PassContext,
    model: Transferred,
    groups: list[dict[str, Any]],
    task: Task,
    config: TransferPass,
    names: list[str],
    *,
    frozen_norms: bool,
    label: str,
    progress: tuple[float, float],
) -> Fit:
    """Train ``model`` in place with Adam over ``groups`` (param groups, each with its lr).

    ``epochs`` a number: exactly that many epochs on the calibration split. ``auto``: the EpochPolicy
    (worker/engine/epochs.py) on a held-out fifth finds the best epoch count; then the model trains again
    from its starting weights on the whole calibration split for that many epochs (with a few hundred labels
    the fifth held out is worth having back: measured 86.5 % -> see benchmarks/RESULTS.md).
    """
    from worker.engine.epochs import EpochPolicy

    device, why = finetune.device_for(ctx, FineTune(device=config.device))
    train_on, validate_on = validation_part(ctx, config)
    auto = config.epochs == "auto"
    if auto:
        policy = EpochPolicy(max_epochs=config.max_epochs, patience=config.patience, time_budget_s=config.max_seconds)
    else:
        policy = EpochPolicy.fixed(int(config.epochs))
    model.to(device)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    low, high = progress
    split_at = low + (high - low) * (0.6 if auto else 1.0)
    setup = {
        "task": task, "config": config, "names": names, "device": device, "frozen_norms": frozen_norms,
        "label": label, "progress": (low, split_at),
    }  # fmt: skip
    started = time.perf_counter()
    refit: dict[str, Any] | None = None
    try:
        with finetune.torch_threads(ctx.threads):
            optimizer = torch.optim.Adam(groups, weight_decay=config.weight_decay)
            best = _epochs(ctx, model, optimizer, policy, (train_on, validate_on), setup)
            if auto and validate_on is not None and policy.best_epoch:
                model.load_state_dict(initial)
                again = EpochPolicy.fixed(policy.best_epoch)
                optimizer = torch.optim.Adam(groups, weight_decay=config.weight_decay)
                refit_started = time.perf_counter()
                setup.update(progress=(split_at, high), label=f"{label}, again on all the training data")
                _epochs(ctx, model, optimizer, again, (ctx.split.calibration, None), setup)
                refit = {
                    "epochs": policy.best_epoch,
                    "train_samples": int(len(ctx.split.calibration)),
                    "seconds": round(time.perf_counter() - refit_started, 3),
                    "curve": [record.as_dict() for record in again.curve],
                }
            elif best is not None:
                model.load_state_dict(best)
    except torch.cuda.OutOfMemoryError:
        raise EngineError(
            "gpu_out_of_memory",
            f"transfer training ran out of GPU memory at batch_size {config.batch_size}; lower transfer.batch_size",
        ) from None
    finally:
        model.cpu().eval()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return Fit(
        {
            **policy.as_dict(),
            "refit": refit,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "weight_decay": config.weight_decay,
            "device": device.type,
            "device_name": finetune.device_name(device),
            "device_reason": why,
            "seconds": round(time.perf_counter() - started, 3),
            "train_samples": int(len(train_on)),
            "validation_samples": 0 if validate_on is None else int(len(validate_on)),
            "validation": "none: a fifth of the calibration split would be under "
            f"{MIN_VALIDATION} samples; trained on all of it until the training loss stopped improving"
            if auto and validate_on is None
            else None,
            "norm_statistics": "frozen (pretrained running statistics)" if frozen_norms else "batch statistics",
        }
    )


def reinitialise(model: Transferred) -> None:
    """Random weights everywhere (the scratch comparison): each layer's own default initialisation."""
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if module is not model and callable(reset):
            reset()
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()


def copy_model(model: Transferred) -> Transferred:
    return copy.deepcopy(model)


def export_body(model: Transferred, backbone: Any, examples: tuple[torch.Tensor, ...], out: Path) -> Path:
    """The trained backbone back to ONNX (inputs -> feature, batch axis open)."""
    from worker.engine import lift

    return lift.export_onnx(model.body, backbone, examples, out)
