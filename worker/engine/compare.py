"""Judge any candidate model against an original with the job's own verdict (``slimline compare``).

Useful for a model optimized elsewhere (onnxruntime's quantize_static, NNCF, a hand-made export): the
same per-output metrics, the same rollout for stateful models, the same timing with intervals.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from app.core.schemas.recipe import Recipe
from worker.engine import evaluate, modelio
from worker.engine.api import load_model, measure_baseline
from worker.engine.context import LATENCY_BUDGET_S
from worker.engine.progress import Reporter


def compare(
    original: Path,
    candidate: Path,
    dataset: Path,
    recipe: Recipe | None = None,
    *,
    threads: int | None = None,
    time_budget_s: float = 2 * LATENCY_BUDGET_S,
) -> dict[str, Any]:
    """The verdict on ``candidate`` against ``original`` over ``dataset``, and both timed side by side.

    ``recipe`` supplies the quality limit, the evaluation (state pairs), the split and the target. Returns
    ``{verdict, per_output, speedup, speedup_interval, timing, latency_ms_p50: {original, candidate},
    size_bytes: {...}, warnings}``. Raises EngineError when a model does not run on the data.
    """
    recipe = recipe or Recipe()
    reporter = Reporter(None, None)
    threads = threads or modelio.default_threads()
    with tempfile.TemporaryDirectory(prefix="slimline-compare-") as tmp:
        work = Path(tmp)
        source = load_model(original, "onnx", work, reporter)
        evaluation = measure_baseline(source, dataset, recipe, work, reporter, threads)
        ctx = evaluation.ctx
        session = ctx.session(candidate)
        quality = ctx.assess(candidate, session)
        timings = evaluate.measure_latency(
            {"original": evaluation.session, "candidate": session},
            ctx.latency_feed(),
            ctx.latency_batch,
            budget_s=time_budget_s,
        )
        speedup = timings.speedup("original", "candidate")
        return {
            "verdict": ctx.verdict(quality),
            "per_output": quality.per_output,
            "speedup": speedup.value,
            "speedup_interval": [speedup.low, speedup.high],
            "timing": timings.conditions,
            "latency_ms_p50": {"original": timings["original"].p50_ms, "candidate": timings["candidate"].p50_ms},
            "size_bytes": {"original": evaluate.file_size(original), "candidate": evaluate.file_size(candidate)},
            "warnings": list(reporter.warnings),
        }
