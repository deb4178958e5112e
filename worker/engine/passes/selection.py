"""Judging, timing and choosing among a pass's candidate models: what ``quantize`` and ``weight_only`` share.

Every candidate is judged with the job's verdict (``ctx.assess``), then all of them are timed against the
input in the same interleaved rounds. In ``auto`` a candidate replaces the input only when it is within the
quality limit and measurably faster (the low end of its speedup interval above 1); the fastest such one is
kept, else the input comes back unchanged with the reason. A candidate the recipe named runs as it is, with a
warning when it breaks the limit or is slower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from worker.engine import evaluate, shapes
from worker.engine.context import PassContext
from worker.engine.errors import EngineError
from worker.engine.verdict import Quality


class Candidate(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...


C = TypeVar("C", bound=Candidate)


@dataclass
class Measured:
    """Each candidate's quality and latency, and the input's latency, from one timing run."""

    qualities: dict[str, Quality]
    timings: evaluate.Timings
    speedups: dict[str, evaluate.Ratio]
    failures: list[str] = field(default_factory=list)

    def ran(self, candidate: Candidate) -> bool:
        return candidate.name in self.qualities

    @property
    def input_ms(self) -> float:
        return self.timings["input"].p50_ms

    def passing(self, candidates: Sequence[C]) -> list[C]:
        """The candidates within the limit and measurably faster than the input."""
        return [
            c for c in candidates if self.ran(c) and self.qualities[c.name].within and self.speedups[c.name].low > 1.0
        ]

    def fastest(self, candidates: Sequence[C]) -> C:
        return min(candidates, key=lambda c: self.timings[c.name].p50_ms)


def measure(
    ctx: PassContext, source: Path, candidates: Sequence[Candidate], *, auto: bool, on_step: Callable[[], None]
) -> Measured:
    """Judge every candidate, then time them all against ``source``.

    A candidate that does not run, or fixes a dynamic axis ``source`` leaves open (worker/engine/shapes.py), is
    left out and noted in ``failures`` in ``auto``; when the recipe named it, it is the job's error. ``on_step``
    is called before each candidate (progress and cancellation).
    """
    sessions: dict[str, Any] = {}
    qualities: dict[str, Quality] = {}
    failures: list[str] = []
    before = shapes.interface(source)  # read once, not once per candidate
    for candidate in candidates:
        on_step()
        try:
            shapes.require_dynamic(before, candidate.path, f"the {candidate.name} model")
            session = ctx.session(candidate.path)
            quality = ctx.assess(candidate.path, session)
        except EngineError as exc:
            if not auto:
                if exc.code == "dynamic_axes_lost":
                    raise
                raise EngineError(exc.code, f"the {candidate.name} model does not run: {exc.message}") from None
            failures.append(f"{candidate.name}: {exc.message}")
            continue
        sessions[candidate.name] = session
        qualities[candidate.name] = quality
    timings = evaluate.measure_latency(
        {"input": ctx.session(source), **sessions}, ctx.latency_feed(), ctx.latency_batch, budget_s=ctx.latency_budget_s
    )
    speedups = {name: timings.speedup("input", name) for name in sessions}
    return Measured(qualities, timings, speedups, failures)


def none_passing(what: str, rows: list[dict[str, Any]], measured: Measured) -> str:
    """The warning when ``auto`` keeps the input: every candidate's speedup interval and quality."""
    reasons = "; ".join(
        f"{r['name']}: "
        + ("did not run" if r["speedup"] is None else f"{measured.speedups[r['name']].text()}, {r['quality']}")
        for r in rows
    )
    return (
        f"no {what} was both within the quality limit and measurably faster than the input on this machine, so "
        f"the input is returned unchanged (speedup [95 % interval]: {reasons})"
    )


def as_named(candidate: Candidate, measured: Measured) -> tuple[list[str], bool]:
    """The warnings for a candidate the recipe named, and whether it met the goal."""
    quality, speedup = measured.qualities[candidate.name], measured.speedups[candidate.name]
    warnings = []
    if not quality.within:
        warnings.append(f"{candidate.name} breaks the quality limit: {quality.why}")
    if speedup.measurably_slower:
        warnings.append(
            f"{candidate.name} is slower than the input on this machine "
            f"({measured.timings[candidate.name].p50_ms:.3f} ms vs {measured.input_ms:.3f} ms p50, {speedup.text()})"
        )
    return warnings, quality.within and not speedup.measurably_slower
