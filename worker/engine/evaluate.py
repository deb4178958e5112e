"""Measurements, the same way for the baseline and every candidate: outputs, latency with intervals, size."""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from worker.engine import rollout
from worker.engine.data import Dataset
from worker.engine.progress import Reporter

WARMUP_RUNS = 3
RUNS_PER_ROUND = 5
MIN_ROUNDS = 6  # the confidence interval resamples rounds: fewer say little
MIN_TIMED_RUNS = 20
MAX_TIMED_RUNS = 400
ROUND_PAUSE_S = 0.02  # lets onnxruntime's spinning threads settle between variants
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
NOISY_STEAL_PERCENT = 5.0
NOISY_INTERVAL_WIDTH = 0.25  # an interval wider than this fraction of its ratio: the machine is noisy


def outputs_on(
    session: Any, dataset: Dataset, indices: np.ndarray, batch_size: int, reporter: Reporter | None = None
) -> list[np.ndarray]:
    """Every output of the model over ``indices`` (independent samples), concatenated along the sample axis."""
    return rollout.outputs(session, dataset, rollout.Plan([indices], {}, batch_size, []), reporter)


def is_classifier_like(output: np.ndarray) -> bool:
    return output.ndim == 2 and output.shape[1] > 1 and output.dtype.kind == "f"


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    throughput_per_s: float
    runs: int
    rounds: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)  # [round, run] in ms


@dataclass(frozen=True)
class Ratio:
    """A ratio of two timings with its bootstrap confidence interval (over the interleaved rounds)."""

    value: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    @property
    def measurably_faster(self) -> bool:
        return self.low > 1.0

    @property
    def measurably_slower(self) -> bool:
        return self.high < 1.0

    def text(self) -> str:
        return f"{self.value:.2f}× [{self.low:.2f}, {self.high:.2f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "confidence": self.confidence}


UNCHANGED = Ratio(1.0, 1.0, 1.0)


class Timings(dict[str, Latency]):
    """Latency per variant, timed in interleaved rounds, and the conditions the machine was in."""

    conditions: dict[str, Any]

    def speedup(self, baseline: str, candidate: str) -> Ratio:
        """baseline p50 / candidate p50, with a bootstrap interval over rounds (both resampled alike)."""
        return _ratio(self[baseline].rounds, self[candidate].rounds)


def _ratio(base: np.ndarray, cand: np.ndarray) -> Ratio:
    value = float(np.median(base) / np.median(cand))
    rounds = min(len(base), len(cand))
    if rounds < 2:
        return Ratio(value, value, value)
    picks = np.random.default_rng(0).integers(0, rounds, size=(BOOTSTRAP_RESAMPLES, rounds))
    ratios = np.median(base[picks].reshape(BOOTSTRAP_RESAMPLES, -1), axis=1) / np.median(
        cand[picks].reshape(BOOTSTRAP_RESAMPLES, -1), axis=1
    )
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Ratio(value, float(min(low, value)), float(max(high, value)))


def _cpu_times() -> tuple[float, float] | None:
    """(steal, total) jiffies from /proc/stat, or None where it cannot be read."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [float(v) for v in fields]
    return (values[7] if len(values) > 7 else 0.0), sum(values)


def _conditions(before: tuple[float, float] | None, widths: list[float]) -> dict[str, Any]:
    """Was the machine quiet enough to trust the ratios? Steal time, load, and how wide the intervals were."""
    after = _cpu_times()
    steal = None
    if before is not None and after is not None and after[1] > before[1]:
        steal = 100.0 * (after[0] - before[0]) / (after[1] - before[1])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cpus = os.cpu_count() or 1
    reasons = []
    if steal is not None and steal > NOISY_STEAL_PERCENT:
        reasons.append(f"{steal:.1f} % of CPU time was stolen by the hypervisor")
    if load is not None and load > cpus + 0.5:
        reasons.append(f"load average {load:.2f} on {cpus} CPUs")
    widest = max(widths, default=0.0)
    if widest > NOISY_INTERVAL_WIDTH:
        reasons.append(f"a speedup's {CONFIDENCE:.0%} interval is {widest:.0%} of its value wide")
    return {
        "noisy": bool(reasons),
        "reasons": reasons,
        "steal_percent": steal,
        "load_average": load,
        "cpus": cpus,
        "widest_interval": widest,
    }


def measure_latency(
    sessions: dict[str, Any],
    feed: dict[str, np.ndarray],
    batch_size: int,
    *,
    budget_s: float,
    reporter: Reporter | None = None,
) -> Timings:
    """Time every session on the same feed in interleaved rounds (fair on a noisy, shared machine).

    ``batch_size`` is the number of samples in ``feed`` (for throughput). The first session is the
    reference of the ``conditions`` check: every other session's speedup interval against it is computed.
    """
    for session in sessions.values():
        for _ in range(WARMUP_RUNS):
            rollout.run_session(session, feed)
    calls = {name: functools.partial(session.run, None, feed) for name, session in sessions.items()}
    return measure_calls(calls, batch_size, budget_s=budget_s, reporter=reporter)


def measure_calls(
    calls: Mapping[str, Callable[[], object]],
    units_per_call: int,
    *,
    budget_s: float,
    reporter: Reporter | None = None,
) -> Timings:
    """Time every call (already warmed up) in interleaved rounds; ``measure_latency`` for any unit of work.

    ``units_per_call`` is what one call does (samples of a batch, tokens of a decode run): throughput is
    units per second. The first call is the reference of the ``conditions`` check.
    """
    samples: dict[str, list[list[float]]] = {name: [] for name in calls}
    per_round = RUNS_PER_ROUND
    before = _cpu_times()
    started = time.perf_counter()
    rounds = 0
    order = list(calls.items())
    while True:
        # every other round in reverse: no variant always runs first (or right after another one's spin-down)
        for name, call in order if rounds % 2 == 0 else order[::-1]:
            times = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000.0)
            samples[name].append(times)
            time.sleep(ROUND_PAUSE_S)
        rounds += 1
        runs = rounds * per_round
        elapsed = time.perf_counter() - started
        if reporter is not None:
            reporter.update(min(1.0, elapsed / budget_s))
        if runs >= MAX_TIMED_RUNS or (rounds >= MIN_ROUNDS and runs >= MIN_TIMED_RUNS and elapsed >= budget_s):
            break
    result = Timings()
    for name, per_round_times in samples.items():
        array = np.asarray(per_round_times)
        result[name] = Latency(
            float(np.percentile(array, 50)),
            float(np.percentile(array, 95)),
            units_per_call * 1000.0 / float(np.mean(array)),
            int(array.size),
            array,
        )
    names = list(result)
    widths = []
    for name in names[1:]:
        ratio = result.speedup(names[0], name)
        widths.append((ratio.high - ratio.low) / ratio.value)
    result.conditions = _conditions(before, widths)
    result.conditions.update(rounds=rounds, runs_per_round=per_round)
    return result


def identical(a: Path, b: Path) -> bool:
    """True when two model files (and their external data) are the same bytes."""
    if file_size(a) != file_size(b):
        return False
    pairs = [(a, b), (a.with_name(a.name + ".data"), b.with_name(b.name + ".data"))]
    for x, y in pairs:
        if x.exists() != y.exists():
            return False
        if x.exists() and _sha256(x) != _sha256(y):
            return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_size(path: Path) -> int:
    size = path.stat().st_size
    data = path.with_name(path.name + ".data")
    return size + (data.stat().st_size if data.exists() else 0)
