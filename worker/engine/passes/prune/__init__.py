"""The ``prune`` pass: structured channel pruning that shrinks the graph, or unstructured magnitude pruning.

Structured (``structured``): whole attention heads are removed on the ONNX graph first (``heads``), then
the graph is lifted to ``torch.nn`` and Torch-Pruning removes channels and neurons with everything coupled
to them. Unstructured (``unstructured``, ``sparsify``): the smallest weights are set to zero in the ONNX
file itself. Either way the summary measures this step's effect (size, parameters, MACs, latency, quality)
on the pass's input and output, and a result that breaks the quality limit says so (goal_met false).

The pass unit (its config is ``PrunePass`` in app/core/schemas/recipe.py):

- ``run(ctx, config, source) -> PassResult``: the pass as the recipe wrote it;
- ``space``: its search space for ``tune`` (``PruneSpace``: the sparsity);
- ``trains_on_gpu(config)``: whether its fine-tuning must run on a GPU (the engine fails early without one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.schemas.recipe import PrunePass
from worker.engine import evaluate
from worker.engine.context import PassContext, PassResult
from worker.engine.passes.prune.space import PruneSpace
from worker.engine.passes.prune.structured import prune_structured
from worker.engine.passes.prune.unstructured import prune_unstructured
from worker.engine.verdict import Quality

__all__ = ["PruneSpace", "run", "space", "trains_on_gpu"]

space = PruneSpace


def trains_on_gpu(config: PrunePass) -> bool:
    """True when the pass fine-tunes with ``finetune.device: cuda`` (a GPU or the ``no_gpu`` error)."""
    return config.finetune is not None and config.finetune.device == "cuda"


def _quality_row(quality: Quality) -> dict[str, Any]:
    return {"accuracy": quality.accuracy, "fidelity": quality.fidelity, "decided_by": quality.decided_by}


def _recovery_warnings(config: PrunePass, trained: dict[str, Any] | None) -> list[str]:
    """What ``epochs: auto`` found out: training stopped because no more of it would make the limit hold."""
    if not trained or trained.get("stop") != "cannot_hold":
        return []
    lower = round(config.sparsity / 2, 2)
    return [
        f"recovery training stopped early, after {trained['epochs_run']} epochs: {trained['stop_reason']}. "
        f"No length of training on this data is likely to recover sparsity {config.sparsity}: try a lower "
        f"sparsity (e.g. {lower}), more training samples, or tune the sparsity (tune block)"
    ]


def run(ctx: PassContext, config: PrunePass, source: Path) -> PassResult:
    """Prune ``source`` as ``config`` says; measure the step's effect; flag a broken quality limit."""
    reporter = ctx.reporter
    reporter.update(0.02)
    if config.method == "structured":
        out, details, notes = prune_structured(ctx, config, source)
    else:
        out, details, notes = prune_unstructured(ctx, config, source)
    reporter.update(0.85)
    input_session, output_session = ctx.session(source), ctx.session(out)
    input_quality = ctx.assess(source, input_session)
    output_quality = ctx.assess(out, output_session)
    timings = evaluate.measure_latency(
        {"input": input_session, "output": output_session},
        ctx.latency_feed(),
        ctx.latency_batch,
        budget_s=ctx.latency_budget_s,
    )
    before, after = ctx.model_facts(source), ctx.model_facts(out)
    before.update(latency_ms_p50=timings["input"].p50_ms, **_quality_row(input_quality))
    after.update(latency_ms_p50=timings["output"].p50_ms, **_quality_row(output_quality))
    ok, why = ctx.within_limit(output_quality)
    speedup = timings.speedup("input", "output")
    warnings: list[str] = []
    if not ok:
        warnings.append(f"prune ({config.method}, sparsity {config.sparsity}) breaks the quality limit: {why}")
    warnings.extend(_recovery_warnings(config, details.get("finetune")))
    slower = speedup.measurably_slower  # the whole 95 % interval below 1, not one noisy median
    if details.pop("nothing_pruned", False):
        warnings.append(
            "structured pruning removed no channels: every weight layer is kept whole (see not_pruned)"
            + ("" if config.finetune else "; the input is returned unchanged")
        )
    if config.method == "unstructured":
        sizes = details["compressed_size_bytes"]
        warnings.append(
            "unstructured sparsity gives no speedup on dense runtimes (onnxruntime multiplies the zeros "
            f"too); its gain is the compressed size: {sizes['input']} -> {sizes['output']} bytes deflated"
        )
    elif slower:
        warnings.append(
            f"the pruned model measured slower than its input ({timings['output'].p50_ms:.3f} ms vs "
            f"{timings['input'].p50_ms:.3f} ms p50, {speedup.text()})"
        )
    if details.get("fixed_input_axes"):
        warnings.append("the pruned model accepts fewer input shapes: " + "; ".join(details["fixed_input_axes"]))
    summary = {
        "type": "prune",
        "method": config.method,
        "sparsity": config.sparsity,
        "scope": config.scope,
        "importance": config.importance,
        "input": before,
        "output": after,
        "speedup": speedup.value,
        "speedup_interval": [speedup.low, speedup.high],
        "parameter_ratio": after["parameter_count"] / max(1, before["parameter_count"]),
        "macs_ratio": after["macs"] / before["macs"] if before["macs"] else None,
        "size_ratio": after["size_bytes"] / max(1, before["size_bytes"]),
        "within_limit": ok,
        "quality": why,
        "notes": notes,
        **details,
    }
    goal_met = ok and (config.method == "unstructured" or not slower)
    return PassResult(out, summary, warnings, goal_met=goal_met)
