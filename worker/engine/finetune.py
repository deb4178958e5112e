"""Recovery training of a lifted (pruned) model on the calibration split, and gradients for Taylor importance.

Only ``ctx.split.calibration`` is ever trained on: the evaluation split stays unseen, so the report's
accuracy is an honest held-out number. Importing this module imports torch (the prune pass imports it
inside its functions).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.core.schemas.recipe import FineTune
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.evaluate import is_classifier_like


def device_for(ctx: PassContext, config: FineTune) -> tuple[torch.device, str]:
    """Where to train, and why there.

    ``auto``: CUDA for a cuda target on a worker whose PyTorch sees a GPU, else the CPU. ``cuda``: a GPU or
    the ``no_gpu`` error (never a silent CPU run). ``cpu``: the CPU.
    """
    if config.device == "cuda":
        require_gpu()
        return torch.device("cuda"), "finetune.device is cuda"
    if config.device == "cpu":
        return torch.device("cpu"), "finetune.device is cpu"
    if ctx.target.device != "cuda":
        return torch.device("cpu"), "the target device is cpu (finetune.device: auto)"
    if not torch.cuda.is_available():
        return torch.device("cpu"), "the target is cuda but this worker's PyTorch sees no GPU (finetune.device: auto)"
    return torch.device("cuda"), "the target device is cuda (finetune.device: auto)"


def require_gpu() -> None:
    """The ``no_gpu`` error when this worker's PyTorch sees no GPU (for ``finetune.device: cuda``)."""
    if torch.cuda.is_available():
        return
    built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    raise EngineError(
        "no_gpu",
        f"fine-tuning on cuda was requested (finetune.device: cuda) but this worker's PyTorch sees no GPU "
        f"(torch {torch.__version__}, {built}). Run the job on a worker of the gpu queue, or set "
        "finetune.device to auto or cpu.",
    )


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _tensors(feed: dict[str, np.ndarray], names: list[str], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.ascontiguousarray(feed[name])).to(device) for name in names)


def example_inputs(ctx: PassContext, names: list[str], batch: int = 2) -> tuple[torch.Tensor, ...]:
    """A real calibration batch (batch 2 when possible, so export keeps the batch axis symbolic)."""
    indices = np.resize(ctx.split.calibration, batch)
    feed = next(ctx.dataset.batches(indices, batch))[1]
    return _tensors(feed, names, torch.device("cpu"))


def labels_usable(ctx: PassContext) -> bool:
    labels = ctx.dataset.labels
    return labels is not None and labels.ndim == 1 and labels.dtype.kind in "iu"


def _outputs(result: Any) -> list[torch.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


def _distill_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], temperature: float) -> torch.Tensor:
    """KL divergence on classifier-like logits (softened by ``temperature``), mean squared error elsewhere."""
    losses = []
    for s, t in zip(student, teacher, strict=True):
        if not s.is_floating_point():
            continue
        if s.dim() == 2 and s.shape[1] > 1:
            losses.append(
                F.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1), reduction="batchmean")
                * temperature**2
            )
        else:
            losses.append(F.mse_loss(s, t))
    return torch.stack(losses).sum()


def _loss(
    student: nn.Module,
    teacher: nn.Module | None,
    inputs: tuple[torch.Tensor, ...],
    target: torch.Tensor | None,
    temperature: float,
) -> torch.Tensor:
    """Cross-entropy on ``target`` (when given) plus distillation from ``teacher`` (when given)."""
    outputs = _outputs(student(*inputs))
    loss = torch.zeros((), device=inputs[0].device)
    if target is not None:
        loss = loss + F.cross_entropy(outputs[0].reshape(len(target), -1), target)
    if teacher is not None:
        with torch.no_grad():
            reference = _outputs(teacher(*inputs))
        loss = loss + _distill_loss(outputs, reference, temperature)
    return loss


def train(
    ctx: PassContext,
    student: nn.Module,
    teacher: nn.Module | None,
    config: FineTune,
    input_names: list[str],
    *,
    masks: dict[str, torch.Tensor] | None = None,
    progress: tuple[float, float] = (0.0, 1.0),
) -> dict[str, Any]:
    """Fine-tune ``student`` in place; return what was done (loss kind, per-epoch losses, device).

    With usable labels and ``distill: false`` the loss is cross-entropy on the first output; otherwise the
    student learns the teacher's (the unpruned model's) outputs, added to the cross-entropy when labels exist.
    ``masks`` (parameter name -> 0/1 tensor) keep pruned weights at zero (unstructured pruning).
    """
    device, why = device_for(ctx, config)
    ctx.reporter.log(f"fine-tuning on {device_name(device)}: {why}", data={"device": device.type})
    use_labels = labels_usable(ctx)
    distill = config.distill or not use_labels
    if distill and teacher is None:
        raise ValueError("distillation needs the original model")
    student.to(device).train()
    for module in student.modules():  # keep the running statistics measured on the real training data
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    if teacher is not None:
        teacher.to(device).eval()
    params = dict(student.named_parameters())
    device_masks = {name: mask.to(device) for name, mask in (masks or {}).items()}
    optimizer = torch.optim.Adam(student.parameters(), lr=config.lr)
    steps = config.epochs * -(-len(ctx.split.calibration) // config.batch_size)
    cosine = config.schedule == "cosine"
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)) if cosine else 1.0
    )
    rng = np.random.default_rng(ctx.split.seed)
    losses: list[float] = []
    start, end = progress
    parts = ["cross-entropy on labels"] if use_labels else []
    if distill:
        parts.append(f"distillation from the original model (KL on logits at T={config.temperature}, MSE otherwise)")
    kind = " + ".join(parts)
    started = time.perf_counter()
    try:
        with torch_threads(ctx.threads):
            for epoch in range(config.epochs):
                order = rng.permutation(ctx.split.calibration)
                total, batches = torch.zeros((), device=device), 0
                for chunk, feed in ctx.dataset.batches(order, config.batch_size):
                    ctx.reporter.check()  # cancellation between batches
                    inputs = _tensors(feed, input_names, device)
                    target = None
                    if use_labels:
                        assert ctx.dataset.labels is not None
                        target = torch.from_numpy(ctx.dataset.labels[chunk].astype(np.int64)).to(device)
                    loss = _loss(student, teacher if distill else None, inputs, target, config.temperature)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    if device_masks:
                        with torch.no_grad():
                            for name, mask in device_masks.items():
                                params[name].mul_(mask)
                    total += loss.detach()  # summed on the device: no host sync per batch
                    batches += 1
                losses.append(float(total) / max(1, batches))
                fraction = start + (end - start) * (epoch + 1) / config.epochs
                ctx.reporter.update(fraction)
                ctx.reporter.log(
                    f"fine-tuning epoch {epoch + 1}/{config.epochs}: mean loss {losses[-1]:.4f}",
                    data={"epoch": epoch + 1, "epochs": config.epochs, "loss": losses[-1]},
                )
    except torch.cuda.OutOfMemoryError:
        raise EngineError(
            "gpu_out_of_memory",
            f"fine-tuning ran out of GPU memory on {device_name(device)} at batch_size {config.batch_size}; "
            "lower finetune.batch_size (or use finetune.device: cpu)",
        ) from None
    finally:  # back on the CPU whatever happened (cancelled, failed): export and the next pass use it there
        student.cpu().eval()
        if teacher is not None:
            teacher.cpu()
        if device.type == "cuda":  # a worker process lives on: hand the cached blocks back to the driver
            torch.cuda.empty_cache()
    return {
        "epochs": config.epochs,
        "lr": config.lr,
        "schedule": config.schedule,
        "batch_size": config.batch_size,
        "loss": kind,
        "epoch_losses": losses,
        "device": device.type,
        "device_name": device_name(device),
        "device_reason": why,
        "seconds": round(time.perf_counter() - started, 3),
        "train_samples": int(len(ctx.split.calibration)),
        "data": "calibration split",
    }


def accumulate_gradients(ctx: PassContext, model: nn.Module, input_names: list[str], batches: int = 4) -> str:
    """Backpropagate a loss over a few calibration batches (Taylor importance reads the gradients).

    Uses the labels, or without them the model's own predictions on classifier-like outputs. Returns
    what the gradients came from; raises ValueError when neither exists.
    """
    use_labels = labels_usable(ctx)
    model.zero_grad()
    seen = 0
    with torch_threads(ctx.threads):
        for chunk, feed in ctx.dataset.batches(ctx.split.calibration, 32):
            ctx.reporter.check()
            outputs = _outputs(model(*_tensors(feed, input_names, torch.device("cpu"))))
            logits = outputs[0].reshape(len(chunk), -1) if outputs[0].dim() >= 1 else outputs[0]
            if use_labels:
                assert ctx.dataset.labels is not None
                target = torch.from_numpy(ctx.dataset.labels[chunk].astype(np.int64))
            elif is_classifier_like(logits.detach().numpy()):
                target = logits.detach().argmax(-1)
            else:
                raise ValueError("Taylor importance needs labels or classifier-like outputs")
            F.cross_entropy(logits, target).backward()
            seen += 1
            if seen >= batches:
                break
    return "labels" if use_labels else "the model's own predictions (no labels)"
