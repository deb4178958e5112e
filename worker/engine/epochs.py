"""How many epochs to train: the stopping rule of ``epochs: auto``, shared by recovery fine-tuning and ``transfer``.

Pure bookkeeping (no torch): the training loop iterates the policy, trains one epoch, scores a validation
part (never the evaluation split) and records the score; the policy says whether that epoch is the best so far
(keep a copy of the weights then) and when to stop. Usage::

    policy = EpochPolicy(max_epochs=60, patience=5, margin=0.005, time_budget_s=600)
    best_state = None
    for epoch in policy:  # 1, 2, ... until a stop reason is set
        train_loss = train_one_epoch()
        gap, within = score_validation()  # gap: lower is better; <= 0 means the quality limit holds
        if policy.record(train_loss=train_loss, gap=gap, within=within):
            best_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    details = policy.as_dict()  # curve, best_epoch, stop (a code) and stop_reason (words)

A fixed number of epochs is the same loop with ``EpochPolicy.fixed(n)``: it never stops early and every epoch
counts as the best (the last one's weights are kept). ``gap`` is any "lower is better" number; for the verdict's
it is how far the worst output is beyond its limit, in that limit's units (verdict.Quality.gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

StopCode = Literal["limit_held", "plateau", "cannot_hold", "converged", "max_epochs", "time_budget", "fixed"]
MIN_DELTA = 1e-4  # a gap must fall by more than this to count as an improvement (noise in the last digits)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of the curve: the mean training loss, the validation gap, and whether the limit held."""

    epoch: int
    train_loss: float
    gap: float | None
    within: bool | None
    seconds: float
    metric: float | None = None  # the validation number a person reads (e.g. accuracy), when there is one

    def as_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "validation_gap": self.gap,
            "validation_within": self.within,
            "validation_metric": self.metric,
            "seconds": round(self.seconds, 3),
        }


class EpochPolicy:
    """Decides after each epoch whether it improved on the best so far, and when training should stop.

    Stops (``stop``, a code; ``stop_reason``, in words) when

    - ``limit_held``: the best epoch holds the limit on validation with ``margin`` to spare (gap <= -margin)
      and ``patience`` epochs since brought no improvement;
    - ``plateau``: the best epoch holds the limit, but without the margin, and stopped improving;
    - ``cannot_hold``: ``give_up_after`` epochs (twice ``patience`` unless given) without improvement and the
      best epoch is still beyond the limit: more training will not make it hold (the caller suggests removing
      less). Longer than ``patience``: a model short of the limit often stalls for a few epochs and then
      recovers (measured: benchmarks/recovery.py, 500 digits at sparsity 0.8, stalled 5 epochs at epoch 9);
    - ``converged``: ``patience`` epochs without improvement of a ``gap`` recorded without ``within`` (no
      quality limit to hold, e.g. the training loss when there is no validation part);
    - ``max_epochs`` or ``time_budget``: out of epochs, or the next epoch would not fit in the time left
      (estimated from the slowest epoch so far).
    """

    def __init__(
        self,
        *,
        max_epochs: int,
        patience: int = 5,
        margin: float = 0.0,
        time_budget_s: float | None = None,
        give_up_after: int | None = None,
        min_delta: float = MIN_DELTA,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_epochs < 1 or patience < 1:
            raise ValueError("max_epochs and patience must be at least 1")
        self.max_epochs = max_epochs
        self.patience = patience
        self.margin = max(0.0, margin)
        self.give_up_after = give_up_after or 2 * patience
        self.time_budget_s = time_budget_s
        self.min_delta = min_delta
        self.auto = True
        self._clock = clock
        self._started = clock()
        self._epoch_started = self._started
        self.curve: list[EpochRecord] = []
        self.best_epoch: int | None = None
        self.best_gap: float | None = None
        self._best_tiebreak: float | None = None
        self.improved = False
        self.stop: StopCode | None = None
        self.stop_reason: str | None = None

    @classmethod
    def fixed(cls, epochs: int) -> EpochPolicy:
        """Exactly ``epochs`` epochs (an explicit ``epochs``): no early stop, the last epoch is kept."""
        policy = cls(max_epochs=epochs, patience=epochs)
        policy.auto = False
        return policy

    @property
    def epochs_run(self) -> int:
        return len(self.curve)

    @property
    def since_best(self) -> int:
        """Epochs recorded after the best one (0 when the last epoch was the best)."""
        return 0 if self.best_epoch is None else self.epochs_run - self.best_epoch

    @property
    def best(self) -> EpochRecord | None:
        return None if self.best_epoch is None else self.curve[self.best_epoch - 1]

    def __iter__(self) -> Iterator[int]:
        while self.stop is None:
            epoch = self.epochs_run + 1
            if epoch > self.max_epochs:
                self._stop("max_epochs" if self.auto else "fixed", self._max_epochs_reason())
                return
            if self.auto and self._out_of_time():
                self._stop("time_budget", self._time_reason())
                return
            self._epoch_started = self._clock()
            yield epoch
            if self.epochs_run < epoch:
                raise RuntimeError("EpochPolicy: call record() once per epoch")

    def record(
        self,
        *,
        train_loss: float,
        gap: float | None = None,
        within: bool | None = None,
        metric: float | None = None,
        tiebreak: float | None = None,
    ) -> bool:
        """Record one epoch; True when it is the best so far (keep its weights). May set ``stop``.

        ``tiebreak`` (lower is better, e.g. the validation loss) decides between epochs whose ``gap`` is the
        same: a gap read from a few hundred samples moves in steps, while the model still gets better.
        """
        now = self._clock()
        epoch = self.epochs_run + 1
        self.curve.append(EpochRecord(epoch, float(train_loss), gap, within, now - self._epoch_started, metric))
        # without a gap to compare (fixed epochs), the latest weights are the best known
        if not self.auto or gap is None or self.best_gap is None or gap < self.best_gap - self.min_delta:
            self.improved = True
        else:
            tied = gap <= self.best_gap + self.min_delta
            self.improved = (
                tied
                and tiebreak is not None
                and self._best_tiebreak is not None
                and tiebreak < self._best_tiebreak - self.min_delta
            )
        if self.improved:
            self.best_epoch, self.best_gap, self._best_tiebreak = epoch, gap, tiebreak
        if self.auto and gap is not None and self.since_best >= min(self.patience, self.give_up_after):
            self._decide_plateau()
        return self.improved

    def _decide_plateau(self) -> None:
        best = self.best
        assert best is not None and best.gap is not None
        flat = f"no improvement on the validation part for {self.since_best} epochs (best: epoch {best.epoch})"
        if best.within is None:
            self._stop("converged", f"no improvement for {self.since_best} epochs (best: epoch {best.epoch})")
        elif best.within and best.gap <= -self.margin:
            self._stop("limit_held", f"the quality limit holds on the validation part with margin; {flat}")
        elif best.within:
            self._stop("plateau", f"the quality limit holds on the validation part but without margin; {flat}")
        elif self.since_best >= self.give_up_after:
            self._stop("cannot_hold", f"the quality limit does not hold on the validation part and {flat}")

    def _out_of_time(self) -> bool:
        if self.time_budget_s is None or not self.curve:
            return False
        slowest = max(record.seconds for record in self.curve)
        return self._clock() - self._started + slowest > self.time_budget_s

    def _max_epochs_reason(self) -> str:
        if not self.auto:
            return f"ran the {self.max_epochs} epochs asked for (finetune.epochs)"
        return f"reached max_epochs ({self.max_epochs})"

    def _time_reason(self) -> str:
        assert self.time_budget_s is not None
        return f"the training time budget ({self.time_budget_s:g} s) would run out during the next epoch"

    def _stop(self, code: StopCode, reason: str) -> None:
        self.stop, self.stop_reason = code, reason

    def as_dict(self) -> dict[str, Any]:
        """The pass details' view: epochs run, the curve, the best epoch, and why training stopped."""
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stop": self.stop,
            "stop_reason": self.stop_reason,
            "patience": self.patience if self.auto else None,
            "give_up_after": self.give_up_after if self.auto else None,
            "max_epochs": self.max_epochs,
            "margin": self.margin if self.auto else None,
            "curve": [record.as_dict() for record in self.curve],
        }
