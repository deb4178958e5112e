"""The ``weight_only`` pass: int4 / int8 MatMul weights in blocks (onnxruntime's MatMulNBits), activations in float.

For transformers and language models, whose time at batch 1 goes to reading weights. ``options`` quantizes
once as the recipe says; ``auto`` builds the combinations that fit (bits × block size × accuracy level),
judges each with the job's verdict, times them against the input in interleaved rounds (as ``quantize
auto`` does) and keeps the fastest faithful one that is measurably faster, or returns the input with the
reason. The report entry lists the quantized layers, the ones kept in float and why, and the graph's input
and output shapes before and after (batch and sequence axes stay symbolic).

The pass unit (its config is ``WeightOnlyPass`` in app/core/schemas/recipe.py): ``run`` and ``space``
(None: tune runs it as written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.schemas.recipe import WeightOnlyPass
from worker.engine import evaluate, shapes
from worker.engine.context import PassContext, PassResult
from worker.engine.errors import EngineError
from worker.engine.passes import selection
from worker.engine.passes.weight_only.build import Built, auto_options, build, prepare
from worker.engine.verdict import Quality

__all__ = ["run", "space"]

space = None


def _row(built: Built, quality: Quality | None, latency: Any, speedup: evaluate.Ratio | None, why: str) -> dict:
    return {
        "name": built.name,
        "bits": built.options.bits,
        "block_size": built.options.block_size,
        "accuracy_level": built.options.accuracy_level,
        "size_bytes": evaluate.file_size(built.path),
        "latency_ms_p50": latency.p50_ms if latency else None,
        "speedup": speedup.value if speedup else None,
        "speedup_interval": [speedup.low, speedup.high] if speedup else None,
        "within_limit": quality.within if quality else None,
        "decided_by": quality.decided_by if quality else None,
        "quality": why,
        "fidelity": quality.fidelity if quality else None,
    }


def _what(built: Built, before: shapes.Interface) -> dict[str, Any]:
    """What was quantized in ``built``, and the graph's interface after it (its axes checked by worker/engine/shapes.py,
    like every candidate's in ``selection.measure``)."""
    after = shapes.interface(built.path)
    return {
        "algorithm": built.options.algorithm,
        "bits": built.options.bits,
        "block_size": built.options.block_size,
        "symmetric": built.options.symmetric,
        "accuracy_level": built.options.accuracy_level,
        "quantized": [{"node": n, "op": op} for n, op in sorted(built.quantized.items())],
        "quantized_matmuls": sum(op == "MatMulNBits" for op in built.quantized.values()),
        "quantized_embeddings": sum(op == "GatherBlockQuantized" for op in built.quantized.values()),
        "kept_in_float": [{"node": n, "reason": r} for n, r in sorted(built.kept_in_float.items())],
        "io_shapes": after.as_dict(),
        "symbolic_axes_kept": not shapes.fixed_axes(before, after),
    }


def run(ctx: PassContext, config: WeightOnlyPass, source: Path) -> PassResult:
    """Weight-only quantize ``source`` as ``config`` says; return the chosen model and what was quantized."""
    reporter = ctx.reporter
    before = shapes.interface(source)
    prepared = prepare(ctx, source)
    plan = auto_options(prepared, config, ctx.target.device) if config.mode == "auto" else [config]
    built: list[Built] = []
    failures: list[str] = []
    for index, options in enumerate(plan):
        reporter.update(index / (len(plan) + 2))
        reporter.check()
        try:
            built.append(build(ctx, prepared, options))
        except EngineError as exc:
            if config.mode != "auto":
                raise
            failures.append(exc.message)
    if not built:
        raise EngineError("quantization_failed", "no weight-only candidate could be built: " + "; ".join(failures))
    measured = selection.measure(ctx, source, built, auto=config.mode == "auto", on_step=reporter.check)
    reporter.update((len(plan) + 1) / (len(plan) + 2))
    rows = [
        _row(
            b,
            measured.qualities[b.name],
            measured.timings[b.name],
            measured.speedups[b.name],
            measured.qualities[b.name].why,
        )
        if measured.ran(b)
        else _row(b, None, None, None, "did not run")
        for b in built
    ]
    warnings = [f"candidate {f}" for f in failures + measured.failures]
    summary: dict[str, Any] = {
        "type": "weight_only",
        "mode": config.mode,
        "candidates": rows,
        "input_latency_ms_p50": measured.input_ms,
        "notes": prepared.notes,
    }
    if config.mode == "auto":
        passing = measured.passing(built)
        if not passing:
            warnings.append(selection.none_passing("weight-only candidate", rows, measured))
            summary.update(chosen=None)
            return PassResult(source, summary, warnings, goal_met=True)
        best = measured.fastest(passing)
        for row in rows:
            row["chosen"] = row["name"] == best.name
        summary.update(chosen=best.name, **_what(best, before))
        return PassResult(best.path, summary, warnings, goal_met=True)

    [candidate] = built
    named_warnings, goal_met = selection.as_named(candidate, measured)
    summary.update(chosen=candidate.name, **_what(candidate, before))
    return PassResult(candidate.path, summary, warnings + named_warnings, goal_met=goal_met)
