"""Recovery training of a lifted (pruned) model on the calibration split, and gradients for Taylor importance.

Only ``ctx.split.calibration`` is ever trained on: the evaluation split stays unseen, so the report's
accuracy is an honest held-out number. Importing this module imports torch (the prune pass imports it
inside its functions).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.core.schemas.recipe import FineTune
from worker.engine.context import PassContext
from worker.engine.data import check_training_labels
from worker.engine.epochs import EpochPolicy
from worker.engine.errors import EngineError
from worker.engine.evaluate import is_classifier_like
from worker.engine.verdict import Judge, Quality


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


VALIDATION_FRACTION = 0.2  # of the calibration split, held out from training with ``epochs: auto``
MIN_VALIDATION_SAMPLES = 10
MARGIN_SHARE = 0.5  # "holds with a margin": within half of the limit's room (e.g. a drop <= 0.5 of 1 point)
PLATEAU_FACTOR, PLATEAU_PATIENCE = 0.5, 2  # schedule plateau: halve lr after 2 epochs without improvement
DEFAULT_JOB_SOFT_LIMIT_S = 3600.0


def validation_part(ctx: PassContext) -> tuple[np.ndarray, np.ndarray]:
    """(training part, validation part) of the calibration split: seeded, per class when there are labels.

    The evaluation split is never touched: it judges the result. Raises ``too_few_samples`` when the
    calibration split cannot spare a validation part and still train.
    """
    calibration = ctx.split.calibration
    needed = MIN_VALIDATION_SAMPLES + 1
    if len(calibration) < 2 * MIN_VALIDATION_SAMPLES:
        raise EngineError(
            "too_few_samples",
            f"finetune.epochs auto holds out a validation part of the calibration split, which has "
            f"{len(calibration)} samples (at least {2 * MIN_VALIDATION_SAMPLES} needed, {needed} to validate and "
            "train); upload more samples, raise split.calibration_fraction, or set finetune.epochs to a number",
        )
    rng = np.random.default_rng(ctx.split.seed + 1)  # not the split's own stream: a different draw
    groups = [calibration]
    if labels_usable(ctx):
        assert ctx.dataset.labels is not None
        classes = ctx.dataset.labels[calibration]
        groups = [calibration[classes == c] for c in np.unique(classes)]
    held: list[np.ndarray] = []
    for group in groups:
        count = int(round(len(group) * VALIDATION_FRACTION)) if len(group) > 1 else 0
        held.append(rng.permutation(group)[:count])
    validation = np.sort(np.concatenate(held)) if held else calibration[:0]
    if len(validation) < MIN_VALIDATION_SAMPLES:  # many tiny classes: fall back to a plain draw
        validation = np.sort(rng.permutation(calibration)[:MIN_VALIDATION_SAMPLES])
    return np.setdiff1d(calibration, validation), validation


class _Validation:
    """Judges the student on the validation part the way the job's result is judged (verdict.Judge):
    against the teacher's outputs there, accuracy drop when labels fit an output, else fidelity."""

    def __init__(
        self, ctx: PassContext, teacher: nn.Module, indices: np.ndarray, input_names: list[str], device: torch.device
    ) -> None:
        self.ctx, self.indices, self.input_names, self.device = ctx, indices, input_names, device
        reference = self.outputs(teacher)
        names = (
            ctx.output_names
            if len(ctx.output_names) == len(reference)
            else [f"output_{i}" for i in range(len(reference))]
        )
        labels = ctx.dataset.labels[indices] if labels_usable(ctx) and ctx.dataset.labels is not None else None
        self.judge = Judge(ctx.limit, reference, names, labels, context="validation part")
        # the room between a perfect copy and the limit, in the deciding metric's units
        self.room = max(0.0, -self.judge.judge(reference).gap)

    def outputs(self, model: nn.Module) -> list[np.ndarray]:
        parts: list[list[np.ndarray]] = []
        with torch.no_grad():
            for _, feed in self.ctx.dataset.batches(self.indices, 256):
                outputs = _outputs(model(*_tensors(feed, self.input_names, self.device)))
                parts.append([o.detach().float().cpu().numpy() for o in outputs])
        return [np.concatenate(column) for column in zip(*parts, strict=True)]

    def score(self, student: nn.Module) -> Quality:
        student.eval()
        try:
            return self.judge.judge(self.outputs(student))
        finally:
            _train_mode(student)


def _train_mode(student: nn.Module) -> None:
    student.train()
    for module in student.modules():  # keep the running statistics measured on the real training data
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _readable(quality: Quality) -> float | None:
    """The validation number a person reads: accuracy with labels, else the first output's agreement."""
    if quality.accuracy is not None:
        return quality.accuracy["top1"]
    fidelity = quality.fidelity
    value = fidelity.get("top1_agreement")
    return value if value is not None else fidelity.get("cosine_mean")


def _classifier_width(ctx: PassContext) -> int | None:
    """Classes of the model's first output when it is one vector of logits per sample, else None."""
    reference = ctx.judge.reference[0] if ctx.judge.reference else None
    if reference is None or reference.ndim != 2 or reference.dtype.kind != "f" or reference.shape[1] < 2:
        return None
    return int(reference.shape[1])


def _finer(quality: Quality) -> float | None:
    """A continuous "lower is better" number beside the gap: validation cross-entropy, else 1 - cosine."""
    if quality.accuracy is not None:
        return quality.accuracy["loss"]
    cosine = quality.fidelity.get("cosine_mean")
    return None if cosine is None else 1.0 - cosine


def time_budget_s(config: FineTune) -> float:
    """``max_seconds``, else half the job's soft time limit (the rest is for measuring and later passes)."""
    if config.max_seconds is not None:
        return config.max_seconds
    try:
        job_limit = float(os.environ.get("SLIMLINE_JOB_SOFT_TIME_LIMIT_S", DEFAULT_JOB_SOFT_LIMIT_S))
    except ValueError:
        job_limit = DEFAULT_JOB_SOFT_LIMIT_S
    return job_limit / 2


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
    """Fine-tune ``student`` in place; return what was done (loss kind, the per-epoch curve, why it stopped).

    With usable labels and ``distill: false`` the loss is cross-entropy on the first output; otherwise the
    student learns the teacher's (the unpruned model's) outputs, added to the cross-entropy when labels exist.
    ``masks`` (parameter name -> 0/1 tensor) keep pruned weights at zero (unstructured pruning).
    ``epochs: auto`` trains on the calibration split less a validation part, judges that part after every
    epoch (worker/engine/epochs.py decides when to stop) and restores the best epoch's weights; a number of
    epochs trains exactly that long on the whole calibration split. ``teacher`` is the model before pruning.
    """
    device, why = device_for(ctx, config)
    ctx.reporter.log(f"fine-tuning on {device_name(device)}: {why}", data={"device": device.type})
    use_labels = labels_usable(ctx)
    distill = config.distill or not use_labels
    if (distill or config.epochs == "auto") and teacher is None:
        raise ValueError("distillation and epochs auto need the original model")
    if use_labels:  # before any training: labels that cannot be trained on are the user's to fix
        assert ctx.dataset.labels is not None
        for warning in check_training_labels(ctx.dataset.labels, classes=_classifier_width(ctx)):
            ctx.reporter.warn(warning)
    auto = config.epochs == "auto"
    validate = auto and not ctx.plan.stateful  # a recurrent model's samples are not independent: no hold-out
    training, held_out = validation_part(ctx) if validate else (ctx.split.calibration, ctx.split.calibration[:0])
    if auto:
        policy = EpochPolicy(
            max_epochs=config.max_epochs, patience=config.patience, time_budget_s=time_budget_s(config)
        )
    else:
        assert isinstance(config.epochs, int)
        policy = EpochPolicy.fixed(config.epochs)
    schedule_name = config.resolved_schedule
    _train_mode(student.to(device))
    if teacher is not None:
        teacher.to(device).eval()
    params = dict(student.named_parameters())
    device_masks = {name: mask.to(device) for name, mask in (masks or {}).items()}
    optimizer = torch.optim.Adam(student.parameters(), lr=config.lr)
    steps = policy.max_epochs * -(-len(training) // config.batch_size)
    cosine = schedule_name == "cosine"
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)) if cosine else 1.0
    )
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE)
        if schedule_name == "plateau"
        else None
    )
    rng = np.random.default_rng(ctx.split.seed)
    start, end = progress
    parts = ["cross-entropy on labels"] if use_labels else []
    if distill:
        parts.append(f"distillation from the original model (KL on logits at T={config.temperature}, MSE otherwise)")
    kind = " + ".join(parts)
    started = time.perf_counter()
    best_state: dict[str, torch.Tensor] | None = None
    validation: _Validation | None = None
    try:
        with torch_threads(ctx.threads):
            if validate:
                assert teacher is not None
                validation = _Validation(ctx, teacher, held_out, input_names, device)
                policy.margin = MARGIN_SHARE * validation.room
            for epoch in policy:
                order = rng.permutation(training)
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
                train_loss = float(total) / max(1, batches)
                quality = validation.score(student) if validation is not None else None
                if quality is not None:
                    improved = policy.record(
                        train_loss=train_loss,
                        gap=quality.gap,
                        within=quality.within,
                        metric=_readable(quality),
                        tiebreak=_finer(quality),
                    )
                elif auto:  # no validation part: the training loss is the signal
                    improved = policy.record(train_loss=train_loss, gap=train_loss)
                else:
                    improved = policy.record(train_loss=train_loss)
                if plateau is not None:  # plateau needs epochs auto, so every epoch records a gap
                    plateau.step(policy.curve[-1].gap or 0.0)
                if auto and improved:
                    best_state = {k: v.detach().clone() for k, v in student.state_dict().items()}
                fraction = start + (end - start) * epoch / policy.max_epochs
                ctx.reporter.update(fraction)
                ctx.reporter.log(
                    _epoch_line(policy, quality), data={**policy.curve[-1].as_dict(), "epochs": config.epochs}
                )
            if best_state is not None and policy.best_epoch != policy.epochs_run:
                student.load_state_dict(best_state)
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
    ctx.reporter.update(end)
    if auto:
        ctx.reporter.log(f"fine-tuning stopped after {policy.epochs_run} epochs: {policy.stop_reason}")
    return {
        "epochs": config.epochs,
        "lr": config.lr,
        "schedule": schedule_name,
        "batch_size": config.batch_size,
        "loss": kind,
        "epoch_losses": [record.train_loss for record in policy.curve],
        "device": device.type,
        "device_name": device_name(device),
        "device_reason": why,
        "seconds": round(time.perf_counter() - started, 3),
        "train_samples": int(len(training)),
        "validation_samples": int(len(held_out)),
        "validation": _validation_words(validation, validate, auto),
        "data": "calibration split" if not validate else "calibration split less a validation part",
        **policy.as_dict(),
    }


def _epoch_line(policy: EpochPolicy, quality: Quality | None) -> str:
    record = policy.curve[-1]
    of = f"/{policy.max_epochs}" if not policy.auto else f" (at most {policy.max_epochs})"
    line = f"fine-tuning epoch {record.epoch}{of}: mean loss {record.train_loss:.4f}"
    if quality is not None:
        line += f"; validation: {quality.why}"
    return line


def _validation_words(validation: _Validation | None, validate: bool, auto: bool) -> str | None:
    if validation is not None:
        labelled = validation.judge.labelled is not None
        return (
            f"judged like the result, on {len(validation.indices)} held-out calibration samples: "
            + ("accuracy drop against the labels" if labelled else "fidelity to the model before pruning")
            + f"; margin {MARGIN_SHARE:g} of the limit's room"
        )
    if auto and not validate:
        return "no validation part (a stateful model's samples are ordered): stops when the training loss stops falling"
    return None


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
