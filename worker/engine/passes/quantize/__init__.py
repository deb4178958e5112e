"""The ``quantize`` pass: dynamic int8, static int8 (QDQ), fp16, and ``auto``, which measures them.

``auto`` never guesses: it builds the candidates that fit the graph (always including the fp32
graph optimized offline by onnxruntime), checks each against the quality limit, times each against
the input in interleaved rounds, and keeps the fastest that passes. If none beats the input, the
input comes back unchanged with the reason.

The pass unit (its config is ``QuantizePass`` in app/core/schemas/recipe.py):

- ``run(ctx, config, source) -> PassResult``: the pass as the recipe wrote it;
- ``space``: its search space for ``tune`` (``QuantizeSpace``: mode, calibration, per-channel scales,
  activation type, image stem, and float nodes by the sensitivity ranking it measures), which builds its
  candidates on ``workbench`` from the same builders as ``run`` (``candidates``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.schemas.recipe import QuantizePass
from worker.engine import evaluate, modelio
from worker.engine.context import PassContext, PassResult
from worker.engine.errors import EngineError
from worker.engine.passes.quantize.candidates import BUILDERS, Candidate, auto_plan
from worker.engine.passes.quantize.space import QuantizeSpace
from worker.engine.verdict import Quality

__all__ = ["QuantizeSpace", "run", "space"]

space = QuantizeSpace


def _describe(
    candidate: Candidate,
    quality: Quality | None,
    latency: evaluate.Latency | None,
    speedup: evaluate.Ratio | None,
    why: str,
) -> dict[str, Any]:
    return {
        "name": candidate.name,
        "size_bytes": evaluate.file_size(candidate.path),
        "latency_ms_p50": latency.p50_ms if latency else None,
        "speedup": speedup.value if speedup else None,
        "speedup_interval": [speedup.low, speedup.high] if speedup else None,
        "within_limit": quality.within if quality else None,
        "decided_by": quality.decided_by if quality else None,
        "quality": why,
        "accuracy": quality.accuracy if quality else None,
        "fidelity": quality.fidelity if quality else None,
        "notes": candidate.notes,
    }


def run(ctx: PassContext, config: QuantizePass, source: Path) -> PassResult:
    """Quantize ``source`` as ``config`` says; return the chosen model and what happened."""
    reporter = ctx.reporter
    model = modelio.load(source)
    plan = auto_plan(model, ctx, config) if config.mode == "auto" else [(config.mode, BUILDERS[config.mode], config)]
    candidates: list[Candidate] = []
    failures: list[str] = []
    for index, (_, builder, options) in enumerate(plan):
        reporter.update(index / (len(plan) + 2))
        try:
            candidates.append(builder(ctx, source, options))
        except EngineError as exc:
            if config.mode != "auto":
                raise
            failures.append(f"{options.mode}: {exc.message}")
    sessions: dict[str, Any] = {}
    qualities: dict[str, Quality] = {}
    for candidate in candidates:
        reporter.check()
        try:
            session = ctx.session(candidate.path)
            quality = ctx.assess(candidate.path, session)
        except EngineError as exc:
            if config.mode != "auto":
                raise EngineError(exc.code, f"the {candidate.name} model does not run: {exc.message}") from None
            failures.append(f"{candidate.name}: {exc.message}")
            continue
        sessions[candidate.name] = session
        qualities[candidate.name] = quality
    reporter.update((len(plan) + 1) / (len(plan) + 2))
    input_session = ctx.session(source)
    timings = evaluate.measure_latency(
        {"input": input_session, **sessions}, ctx.latency_feed(), ctx.latency_batch, budget_s=ctx.latency_budget_s
    )
    speedups = {name: timings.speedup("input", name) for name in sessions}
    warnings = [f"candidate {f}" for f in failures]
    rows = []
    for candidate in candidates:
        if candidate.name in qualities:
            quality = qualities[candidate.name]
            rows.append(_describe(candidate, quality, timings[candidate.name], speedups[candidate.name], quality.why))
        else:
            rows.append(_describe(candidate, None, None, None, "did not run"))
    base_ms = timings["input"].p50_ms

    def float_nodes(candidate: Candidate) -> list[dict[str, str]]:
        return [{"node": n, "reason": r} for n, r in sorted(candidate.kept_in_float.items())]

    if config.mode == "auto":
        # A candidate replaces the input only when it is within the limit and measurably faster: the low
        # end of its speedup interval is above 1.
        passing = [
            c for c in candidates if c.name in qualities and qualities[c.name].within and speedups[c.name].low > 1.0
        ]
        summary: dict[str, Any] = {
            "type": "quantize",
            "mode": "auto",
            "candidates": rows,
            "input_latency_ms_p50": base_ms,
        }
        if not passing:
            reasons = "; ".join(
                f"{r['name']}: "
                + ("did not run" if r["speedup"] is None else f"{speedups[r['name']].text()}, {r['quality']}")
                for r in rows
            )
            warnings.append(
                "no candidate was both within the quality limit and measurably faster than the input on this "
                f"machine, so the input is returned unchanged (speedup [95 % interval]: {reasons})"
            )
            summary.update(chosen=None, kept_in_float=[])
            return PassResult(source, summary, warnings, goal_met=True)
        best = min(passing, key=lambda c: timings[c.name].p50_ms)
        kept_in_float = float_nodes(best)
        for row in rows:
            row["chosen"] = row["name"] == best.name
        summary.update(chosen=best.name, kept_in_float=kept_in_float, notes=best.notes)
        return PassResult(best.path, summary, warnings, goal_met=True)

    [candidate] = candidates
    quality, speedup = qualities[candidate.name], speedups[candidate.name]
    if not quality.within:
        warnings.append(f"{candidate.name} breaks the quality limit: {quality.why}")
    if speedup.measurably_slower:
        warnings.append(
            f"{candidate.name} is slower than the input on this machine "
            f"({timings[candidate.name].p50_ms:.3f} ms vs {base_ms:.3f} ms p50, {speedup.text()})"
        )
    summary = {
        "type": "quantize",
        "mode": config.mode,
        "chosen": candidate.name,
        "candidates": rows,
        "input_latency_ms_p50": base_ms,
        "kept_in_float": float_nodes(candidate),
        "notes": candidate.notes,
    }
    return PassResult(candidate.path, summary, warnings, goal_met=quality.within and not speedup.measurably_slower)
