"""The ``quantize`` pass: dynamic int8, static int8 (QDQ), fp16, and ``auto``, which measures them.

``auto`` never guesses: it builds the candidates that fit the graph (always including the fp32
graph optimized offline by onnxruntime; on a transformer graph, each again on the graph fused by onnxruntime's
transformers optimizer: ``plan``, ``fusion``), checks each against the quality limit, times each against
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
from worker.engine.passes import selection
from worker.engine.passes.quantize.candidates import BUILDERS, Candidate
from worker.engine.passes.quantize.plan import auto_plan
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
        **({"fusion": candidate.fusion} if candidate.fusion else {}),
    }


def run(ctx: PassContext, config: QuantizePass, source: Path) -> PassResult:
    """Quantize ``source`` as ``config`` says; return the chosen model and what happened."""
    reporter = ctx.reporter
    model = modelio.load(source)
    plan = auto_plan(model, ctx, config) if config.mode == "auto" else [(config.mode, BUILDERS[config.mode], config)]
    candidates: list[Candidate] = []
    failures: list[str] = []
    for index, (what, builder, options) in enumerate(plan):
        reporter.update(index / (len(plan) + 2))
        try:
            candidates.append(builder(ctx, source, options))
        except EngineError as exc:
            if config.mode != "auto":
                raise
            failures.append(f"{what}: {exc.message}")
    measured = selection.measure(ctx, source, candidates, auto=config.mode == "auto", on_step=reporter.check)
    reporter.update((len(plan) + 1) / (len(plan) + 2))
    warnings = [f"candidate {f}" for f in failures + measured.failures]
    rows = [
        _describe(
            c,
            measured.qualities[c.name],
            measured.timings[c.name],
            measured.speedups[c.name],
            measured.qualities[c.name].why,
        )
        if measured.ran(c)
        else _describe(c, None, None, None, "did not run")
        for c in candidates
    ]

    def float_nodes(candidate: Candidate) -> list[dict[str, str]]:
        return [{"node": n, "reason": r} for n, r in sorted(candidate.kept_in_float.items())]

    summary: dict[str, Any] = {
        "type": "quantize",
        "mode": config.mode,
        "candidates": rows,
        "input_latency_ms_p50": measured.input_ms,
    }
    if config.mode == "auto":
        passing = measured.passing(candidates)
        if not passing:
            warnings.append(selection.none_passing("candidate", rows, measured))
            summary.update(chosen=None, kept_in_float=[])
            return PassResult(source, summary, warnings, goal_met=True)
        best = measured.fastest(passing)
        for row in rows:
            row["chosen"] = row["name"] == best.name
        summary.update(chosen=best.name, kept_in_float=float_nodes(best), notes=best.notes)
        return PassResult(best.path, summary, warnings, goal_met=True)

    [candidate] = candidates
    named_warnings, goal_met = selection.as_named(candidate, measured)
    summary.update(chosen=candidate.name, kept_in_float=float_nodes(candidate), notes=candidate.notes)
    return PassResult(candidate.path, summary, warnings + named_warnings, goal_met=goal_met)
