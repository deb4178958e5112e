"""The engine's one entry point: model + data + recipe in, artifacts + report out.

``optimize`` runs named stages: load -> baseline -> passes -> final comparison (verdict) -> report.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.schemas.recipe import PrunePass, QuantizePass, Recipe, TransferPass
from worker.engine import evaluate, lm_eval, memory, modelio, passes, preflight, rollout, shapes
from worker.engine import report as report_writer
from worker.engine.context import LATENCY_BUDGET_S, PassContext, PassResult
from worker.engine.data import load_dataset, split
from worker.engine.errors import EngineError
from worker.engine.graph import repair
from worker.engine.output_metrics import class_report, regression_report
from worker.engine.passes.quantize import transformer
from worker.engine.passes.quantize.candidates import op_mix
from worker.engine.progress import ProgressFn, Reporter
from worker.engine.verdict import Judge, Quality

__all__ = ["OptimizeResult", "ProgressFn", "optimize"]
MODEL_ARTIFACT = "model.onnx"


@dataclass
class OptimizeResult:
    model_artifact: str
    report: dict[str, Any]
    artifacts: dict[str, Path]


@dataclass
class Evaluation:
    """The baseline, measured: the pass context, the input's session and how the data is judged."""

    ctx: PassContext
    session: Any
    providers: list[str]
    tokens: lm_eval.Signature | None = None  # a token model (a language model when it has logits)


@dataclass
class Outcome:
    """The final comparison of the result with the input (docs/architecture.md §4, the verdict)."""

    path: Path
    quality: Quality
    baseline: evaluate.Latency
    optimized: evaluate.Latency
    speedup: evaluate.Ratio
    conditions: dict[str, Any]
    goal_met: bool
    unchanged: bool
    token_latency: dict[str, Any] = field(default_factory=dict)  # lm_eval.latency: prefill/decode, or per length
    token_notes: list[str] = field(default_factory=list)


def load_model(model_path: Path, model_format: str, work: Path, reporter: Reporter) -> Path:
    """Copy (or export) the model into ``work`` as ONNX with unique node names; returns its path."""
    source = work / "input.onnx"
    if model_format == "torch_export":
        reporter.log("exporting the torch.export archive to ONNX")
        modelio.export_torch_archive(model_path, source)
    else:
        modelio.copy(model_path, source)
    model = modelio.load(source)
    renamed = repair.unique_node_names(model)
    if renamed:  # onnxruntime refuses duplicate node names; some exporters emit them
        modelio.save(model, source)
        reporter.warn(f"gave {renamed} node(s) unique names: the input had duplicate or empty node names")
    return source


def run_preflight(source: Path, recipe: Recipe, machine: preflight.Hardware, reporter: Reporter) -> preflight.Preflight:
    """Decide what this hardware favours for the input graph before any candidate is built, and say it once."""
    model = modelio.load(source)
    quantize = next((p for p in recipe.passes if isinstance(p, QuantizePass)), None)
    fuse = None if quantize is None else transformer.resolve(model, quantize) is not None  # as the pass will
    decision = preflight.decide(machine, recipe.target.device, op_mix(model, is_transformer=fuse))
    reporter.log(f"pre-flight ({decision.hardware_class}): " + "; ".join(decision.notes), decision.describe())
    return decision


def require_hardware(recipe: Recipe) -> None:
    """The ``no_gpu`` error before any work, not when the fine-tuning starts, for a pass that must train on cuda."""
    from worker.engine.passes import prune, transfer

    if any(
        (isinstance(config, PrunePass) and prune.trains_on_gpu(config))
        or (isinstance(config, TransferPass) and transfer.trains_on_gpu(config))
        for config in recipe.passes
    ):
        from worker.engine import finetune

        finetune.require_gpu()


def transfers(recipe: Recipe) -> bool:
    """True when the recipe starts with a ``transfer`` pass (the only place one may stand; EngineError else)."""
    places = [i for i, config in enumerate(recipe.passes) if isinstance(config, TransferPass)]
    if not places:
        return False
    if places != [0]:
        raise EngineError(
            "invalid_recipe",
            "a transfer pass must be the recipe's first pass (and only one): the passes after it are judged "
            "against the transferred model, whose outputs mean the dataset's classes",
        )
    if recipe.tune is not None:
        raise EngineError(
            "invalid_recipe",
            "tune cannot search a recipe with a transfer pass yet: run the transfer with prune/quantize as written",
        )
    return True


def measure_baseline(
    source: Path,
    dataset_path: Path,
    recipe: Recipe,
    work: Path,
    reporter: Reporter,
    threads: int,
    latency_budget_s: float = LATENCY_BUDGET_S,
    machine: preflight.Hardware | None = None,
) -> Evaluation:
    """Load the data, decide how outputs are judged (state pairs, kinds), and run the input on it.

    ``machine`` is the hardware the passes decide for (None: this machine, as it detects itself).
    """
    model = modelio.load(source)
    inputs, outputs = modelio.input_specs(model), modelio.output_specs(model)
    signature = lm_eval.detect(
        model, inputs, outputs, recipe.evaluation.task, state_given=bool(recipe.evaluation.state)
    )
    del model
    cache = signature.cache if signature is not None else {}
    # a token model's cache starts empty, and an unpadded dataset needs no mask: the evaluation fills them in
    fillable = frozenset(lm_eval.fillable(signature)) if signature is not None else frozenset()
    dataset = load_dataset(dataset_path, [s for s in inputs if s.name not in cache], optional=fillable)
    if dataset.num_samples < 2:
        raise EngineError("dataset_too_small", "the dataset needs at least 2 samples")
    if signature is not None:
        lm_eval.check_token_ids(dataset.arrays[signature.input_ids], signature)
        lm_eval.complete(dataset, signature)
    state = recipe.evaluation.state
    if state is None:
        state = {} if cache else rollout.detect_state_pairs(inputs, outputs)
    else:
        rollout.check_state_pairs(state, inputs, outputs)
    data_split = split(
        dataset,
        calibration_fraction=recipe.split.calibration_fraction,
        seed=recipe.split.seed,
        max_eval_samples=recipe.split.max_eval_samples,
        ordered=bool(state),
    )
    sequences = data_split.evaluation_sequences if state else [data_split.evaluation]
    assert sequences is not None
    tokens = None
    if signature is not None and signature.decoder and not state:
        names = [o.name for o in outputs]
        tokens, notes = lm_eval.plan(signature, dataset, data_split.evaluation, recipe.evaluation, names)
        for note in notes:
            reporter.warn(note)
    names = tokens.output_names if tokens is not None else [o.name for o in outputs]
    plan = rollout.Plan(sequences, state, recipe.target.batch_size, names, tokens=tokens)
    if tokens is not None:
        cached = f", a KV cache of {len(cache)} tensors decoded from an empty past" if cache else ""
        reporter.log(
            f"language model ({tokens.signature.vocab_size} tokens{cached}): judged by {plan.describe()}",
            {"language_model": tokens.describe()},
        )
    if state:
        pairs = ", ".join(f"{a} -> {b}" for a, b in state.items())
        reporter.log(f"stateful model ({pairs}): judged by {plan.describe()}", {"state": state})
    session = modelio.session(source, device=recipe.target.device, threads=threads)
    reference = rollout.outputs(session, dataset, plan, reporter)
    labels = None if dataset.labels is None else dataset.labels[plan.indices]
    limit = recipe.quality if recipe.tune is None else recipe.tune.limit(recipe.quality)
    judge = Judge(
        limit,
        reference,
        plan.output_names,
        labels,
        context=plan.describe(),
        state_outputs=frozenset(state.values()),
        language_model=tokens.layout if tokens is not None else None,
    )
    if dataset.labels is not None and judge.labelled is None and not transfers(recipe):
        reporter.warn(
            "the dataset has labels, but no output fits them (a classifier over their classes, or one probability "
            "per sample for 0/1 labels): every output is judged against the original instead"
        )
    ctx = PassContext(
        work, recipe.target, limit, dataset, data_split, reporter, threads, plan, judge, judge.judge(reference),
        latency_budget_s=latency_budget_s, hardware=machine or preflight.Hardware.of_this_worker(),
    )  # fmt: skip
    if ctx.latency_batch != recipe.target.batch_size:
        fed = ", ".join(name for name, one in dataset.per_sample.items() if one)
        reporter.warn(
            f"latency is measured at batch 1, not {recipe.target.batch_size}: input(s) {fed} are fed one sample "
            "at a time (no batch axis, or one complete feed per sample)"
        )
    return Evaluation(ctx, session, modelio.providers_for(recipe.target.device), signature)


def rebaseline(evaluation: Evaluation, path: Path) -> None:
    """Make the transferred model at ``path`` the baseline: the passes after a transfer and the final verdict
    judge against it (the original's outputs mean other classes, so fidelity to it means nothing)."""
    ctx = evaluation.ctx
    if ctx.plan.stateful:
        raise EngineError("invalid_recipe", "the transfer pass does not support stateful models")
    session = ctx.session(path)
    names = [o.name for o in session.get_outputs()]
    plan = rollout.Plan(ctx.plan.sequences, {}, ctx.plan.batch_size, names)
    reference = rollout.outputs(session, ctx.dataset, plan)
    judge = Judge(ctx.limit, reference, names, ctx.labels)
    ctx.plan, ctx.judge, ctx.baseline_quality = plan, judge, judge.judge(reference)
    evaluation.session = session
    ctx.reporter.log(
        "the transferred model is the baseline from here on: later passes and the final comparison are judged "
        "against it (accuracy on the evaluation split with labels)",
        {"baseline": "transferred"},
    )


def run_passes(
    evaluation: Evaluation, recipe: Recipe, source: Path, study_storage: str | None, study_name: str | None
) -> tuple[Path, Path, list[dict[str, Any]], bool, dict[str, Any] | None]:
    """The recipe's passes in order (or the tuning study).

    Returns the baseline (the input, or the transferred model after a transfer pass), the result, the
    summaries, the goal and the tuning.
    """
    ctx = evaluation.ctx
    current = source
    summaries: list[dict[str, Any]] = []
    goal_met = True

    def absorb(result: PassResult, input_path: Path) -> Path:
        nonlocal goal_met
        shapes.require_dynamic(input_path, result.model_path, f"the {result.summary.get('type', 'pass')} pass")
        if "effect" not in result.summary:  # every step's own effect, measured the same way for every pass type
            result.summary["effect"] = {
                "input": ctx.model_facts(input_path),
                "output": ctx.model_facts(result.model_path),
            }
        for warning in result.warnings:
            ctx.reporter.warn(warning)
        summaries.append(result.summary)
        goal_met = goal_met and result.goal_met
        return result.model_path

    if recipe.tune is not None:
        from worker.engine.tune import run as run_tuning

        tuned, tuning = run_tuning(ctx, recipe, source, storage_url=study_storage, study_name=study_name)
        return source, absorb(tuned, source), summaries, goal_met, tuning
    span = 0.7 / len(recipe.passes)
    baseline = source
    for index, config in enumerate(recipe.passes):
        start = 0.15 + index * span
        ctx.reporter.enter(f"pass {index + 1}/{len(recipe.passes)}: {config.type}", start, start + span)
        current = absorb(passes.unit(config.type).run(ctx, config, current), current)
        if isinstance(config, TransferPass):
            rebaseline(evaluation, current)
            baseline = current
    return baseline, current, summaries, goal_met, None


def _unchanged(evaluation: Evaluation, source: Path, goal_met: bool, timings: evaluate.Timings) -> Outcome:
    same = timings["baseline"]
    outcome = Outcome(
        source, evaluation.ctx.baseline_quality, same, same, evaluate.UNCHANGED, timings.conditions, goal_met, True
    )
    outcome.token_latency, outcome.token_notes = token_latency(evaluation, {"baseline": evaluation.session})
    return outcome


def token_latency(evaluation: Evaluation, sessions: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A token model's latency as it is used (lm_eval.latency): prefill and decode, or per sequence length."""
    ctx, signature = evaluation.ctx, evaluation.tokens
    if signature is None:
        return {}, []
    return lm_eval.latency(
        sessions, signature, ctx.plan.tokens, ctx.dataset, ctx.plan.indices, budget_s=ctx.latency_budget_s
    )


def _revert_reason(recipe: Recipe, quality: Quality, speedup: evaluate.Ratio, size_gain: float, goal: bool) -> str:
    """Why the result must give way to the input in the final comparison ('' when it stands)."""
    if recipe.tune is None:
        # Only measured choices were made: a result that loses the final, longer comparison is not returned.
        # The input is (docs/architecture.md §3: never a worse model from the default recipe).
        if not all(getattr(c, "mode", None) == "auto" for c in recipe.passes):
            return ""
        if not quality.within:
            return f"breaks the quality limit in the final comparison: {quality.why}"
        if not speedup.measurably_faster:
            return f"measured {speedup.text()} the input's speed: no measurable difference on this machine"
        return ""
    # A tuned job keeps its closest candidate when none met the limit (goal_met false, shortfall said).
    if not goal:
        return ""
    if recipe.tune.objective == "size":
        return "" if size_gain > 1.0 else f"is {1 / size_gain:.2f}× the input's size"
    if not speedup.measurably_faster:
        return f"measured {speedup.text()} the input's speed: no measurable difference on this machine"
    return ""


def final_comparison(evaluation: Evaluation, recipe: Recipe, source: Path, current: Path, goal_met: bool) -> Outcome:
    """Judge the result against the input and time both side by side; keep it only when it stands."""
    ctx, reporter = evaluation.ctx, evaluation.ctx.reporter
    feed, batch = ctx.latency_feed(), ctx.latency_batch
    if evaluate.identical(current, source):  # the input itself: exactly 1.0, no second timing
        timings = evaluate.measure_latency({"baseline": evaluation.session}, feed, batch, budget_s=ctx.latency_budget_s)
        return _unchanged(evaluation, source, goal_met, timings)
    session = ctx.session(current)
    quality = ctx.assess(current, session)
    timings = evaluate.measure_latency(
        {"baseline": evaluation.session, "optimized": session},
        feed,
        batch,
        budget_s=2 * ctx.latency_budget_s,
        reporter=reporter,
    )
    speedup = timings.speedup("baseline", "optimized")
    size_gain = evaluate.file_size(source) / evaluate.file_size(current)
    reason = _revert_reason(recipe, quality, speedup, size_gain, goal_met)
    if reason:
        reporter.warn(f"the chosen model {reason}; returning the input unchanged")
        return _unchanged(evaluation, source, goal_met, timings)
    if not quality.within:
        goal_met = False
        reporter.warn(f"the optimized model breaks the quality limit: {quality.why}")
    timed = recipe.tune is None or recipe.tune.objective != "size"
    if timed and speedup.measurably_slower:
        goal_met = False
        reporter.warn(f"the optimized model measured slower than the input in the final comparison ({speedup.text()})")
    elif timed and not speedup.measurably_faster:
        reporter.warn(f"no measurable difference in latency on this machine ({speedup.text()}, 95 % interval)")
    outcome = Outcome(
        current, quality, timings["baseline"], timings["optimized"], speedup, timings.conditions, goal_met, False
    )
    outcome.token_latency, outcome.token_notes = token_latency(
        evaluation, {"baseline": evaluation.session, "optimized": session}
    )
    return outcome


def _measurement(facts: dict[str, Any], latency: evaluate.Latency, quality: Quality) -> dict[str, Any]:
    return {
        "size_bytes": facts["size_bytes"],
        "parameter_count": facts["parameter_count"],
        "sparsity": facts["sparsity"],
        "latency_ms_p50": latency.p50_ms,
        "latency_ms_p95": latency.p95_ms,
        "throughput_per_s": latency.throughput_per_s,
        "accuracy": quality.accuracy,
        "fidelity": quality.fidelity,
        "per_output": quality.per_output,
        # every run, for the latency distribution (µs precision is plenty and keeps report.json small)
        "latency_ms_rounds": [[round(float(ms), 4) for ms in runs] for runs in latency.rounds],
    }


def build_report(
    evaluation: Evaluation,
    recipe: Recipe,
    source: Path,
    outcome: Outcome,
    passes: list[dict[str, Any]],
    tuning: dict[str, Any] | None,
    decision: preflight.Preflight,
) -> dict[str, Any]:
    """The report as the Report schema wants it, every number measured in this job."""
    ctx = evaluation.ctx
    if outcome.conditions["noisy"]:
        ctx.reporter.warn(
            "the machine was noisy while timing (" + "; ".join(outcome.conditions["reasons"]) + "): latency "
            "ratios are less certain than usual; see timing and speedup_interval"
        )
    baseline = _measurement(ctx.model_facts(source), outcome.baseline, ctx.baseline_quality)
    optimized = _measurement(ctx.model_facts(outcome.path), outcome.optimized, outcome.quality)
    accuracy_drop = (
        baseline["accuracy"]["top1"] - optimized["accuracy"]["top1"]
        if baseline["accuracy"] and optimized["accuracy"]
        else None
    )
    within = outcome.quality.within
    goal_met = outcome.goal_met and within
    quality = outcome.quality
    return {
        "baseline": baseline,
        "optimized": optimized,
        "speedup": outcome.speedup.value,
        "speedup_interval": {k: v for k, v in outcome.speedup.as_dict().items() if k != "value"},
        "size_ratio": optimized["size_bytes"] / baseline["size_bytes"],
        "accuracy_drop": accuracy_drop,
        "goal_met": goal_met,
        "quality_limit": {
            **ctx.limit.model_dump(),
            "result": quality.why,
            "within": within,
            "decided_by": quality.decided_by,
        },
        "verdict": ctx.verdict(quality),
        "timing": outcome.conditions,
        "passes": passes,
        "warnings": list(ctx.reporter.warnings),
        "split": ctx.split.describe(),
        "environment": report_writer.environment(
            recipe.target.device, evaluation.providers, ctx.threads, ctx.latency_batch, outcome.baseline.runs, decision
        ),
        "unchanged": outcome.unchanged,
        "tuning": tuning,
        "task_metrics": task_metrics(ctx, recipe, source, outcome.path),
        "language_model": language_model_report(evaluation, outcome),
    }


def language_model_report(evaluation: Evaluation, outcome: Outcome) -> dict[str, Any] | None:
    """The report's ``language_model`` block for a token model (None for any other model)."""
    signature, ctx = evaluation.tokens, evaluation.ctx
    if signature is None:
        return None
    metrics = next((o["metrics"] for o in outcome.quality.per_output if o["kind"] == "language_model"), None)
    return lm_eval.section(
        signature, ctx.plan.tokens, metrics, outcome.token_latency, sequences=len(ctx.plan.indices),
        notes=outcome.token_notes,
    )  # fmt: skip


def task_metrics(ctx: PassContext, recipe: Recipe, baseline: Path, optimized: Path) -> dict[str, Any] | None:
    """Per-class metrics (or regression metrics after a regression transfer) of the baseline and the result on
    the evaluation split; None without labels that fit an output."""
    regression = any(isinstance(c, TransferPass) and c.task == "regression" for c in recipe.passes)
    if ctx.plan.stateful or ctx.labels is None or (ctx.judge.labelled is None and not regression):
        return None
    index = 0 if regression else ctx.judge.labelled
    assert index is not None
    labels = ctx.labels
    rows = {}
    for name, path in (("baseline", baseline), ("optimized", optimized)):
        scores = rollout.outputs(ctx.session(path), ctx.dataset, ctx.plan)[index]
        rows[name] = regression_report(scores, labels) if regression else class_report(scores, labels, ctx.label_names)
    return {"output": ctx.plan.output_names[index], "label_names": ctx.label_names, **rows}


def optimize(
    model_path: Path,
    dataset_path: Path,
    recipe: Recipe,
    out_dir: Path,
    *,
    model_format: Literal["onnx", "torch_export"] = "onnx",
    progress: ProgressFn | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    threads: int | None = None,
    study_storage: str | None = None,
    study_name: str | None = None,
    latency_budget_s: float = LATENCY_BUDGET_S,
    hardware_class: str | None = None,
    memory_limit_bytes: int | None = None,
) -> OptimizeResult:
    """Run the recipe's passes on the model and measure the input and the result the same way.

    With ``recipe.tune`` the passes' options are searched instead (an Optuna study); the study lives in
    ``study_storage`` (an SQLAlchemy URL) under ``study_name`` when given, so a redelivered job continues
    it, else in memory. ``hardware_class`` is the class the worker offers (None: this machine's, see
    worker/engine/hardware.py): the pre-flight orders candidates for it, and the report names it.
    ``memory_limit_bytes`` is the job's memory limit: a job whose estimated peak (worker/engine/memory.py)
    exceeds it is refused with ``model_too_large_for_worker`` before the model is loaded.
    Writes ``model.onnx``, ``report.json``, ``report.html`` and plots into ``out_dir``.
    Raises EngineError (with a code and a message a user can act on) or Cancelled.
    """
    reporter = Reporter(progress, is_cancelled)
    threads = threads or modelio.default_threads()
    machine = preflight.Hardware.of_this_worker(hardware_class)
    with tempfile.TemporaryDirectory(prefix="slimline-engine-") as tmp:
        work = Path(tmp)
        reporter.enter("loading", 0.01, 0.08)
        need = memory.estimate(model_path, dataset_path, recipe, model_format)
        memory.check(need, memory_limit_bytes)
        source = load_model(model_path, model_format, work, reporter)
        require_hardware(recipe)
        transfers(recipe)  # a misplaced transfer pass fails before any work
        decision = run_preflight(source, recipe, machine, reporter)
        reporter.enter("measuring the baseline", 0.08, 0.15)
        evaluation = measure_baseline(source, dataset_path, recipe, work, reporter, threads, latency_budget_s, machine)
        baseline, current, summaries, goal_met, tuning = run_passes(
            evaluation, recipe, source, study_storage, study_name
        )
        reporter.enter("measuring the result", 0.86, 0.97)
        outcome = final_comparison(evaluation, recipe, baseline, current, goal_met)
        report = build_report(evaluation, recipe, baseline, outcome, summaries, tuning, decision)
        if baseline != source:  # the result is never the uploaded model after a transfer
            report.update(baseline_model="transferred", unchanged=False)
        # the peak is known only to whoever ran this process (worker/runner.py fills it in)
        report["memory"] = {**need.describe(), "limit_bytes": memory_limit_bytes, "peak_rss_bytes": None}

        reporter.enter("writing the report", 0.97, 1.0)
        out_dir.mkdir(parents=True, exist_ok=True)
        modelio.copy(outcome.path, out_dir / MODEL_ARTIFACT)
        artifacts = report_writer.write(report, out_dir)
        artifacts[MODEL_ARTIFACT] = out_dir / MODEL_ARTIFACT
        data_file = out_dir / (MODEL_ARTIFACT + ".data")
        if data_file.exists():
            artifacts[data_file.name] = data_file
        validated = json.loads(artifacts["report.json"].read_text())
    return OptimizeResult(MODEL_ARTIFACT, validated, artifacts)
