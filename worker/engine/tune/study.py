"""Accuracy-aware tuning: an Optuna study over the pipeline's options, under the quality limit.

Order of work, all resumable from the study's storage:
1. the reference trial (the passes as written) and, under ``quantize: auto``, the fp32 graph;
2. the sensitivity ranking (stored in the study, computed once per job);
3. when the reference breaks the limit, the greedy fallback: keep the worst-ranked nodes in float,
   the fewest that reach the limit (bisection over the ranking);
4. the sampler's trials, until ``trials`` distinct candidates were measured or ``timeout_s`` passed.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.schemas.recipe import Recipe, Tune
from worker.engine import evaluate
from worker.engine.context import PassContext, PassResult
from worker.engine.errors import EngineError
from worker.engine.tune.choose import choose
from worker.engine.tune.pipeline import Evaluated, Pipeline, canonical
from worker.engine.tune.report import objective_word, trial_row
from worker.engine.verdict import Quality

TRIAL_LATENCY_BUDGET_S = 0.4
MAX_PROPOSALS_PER_TRIAL = 4  # repeated proposals are free but bounded
FAILED_GAP = 10.0  # the constraint value of a candidate that could not be built or run


@dataclass
class TuningRun:
    ctx: PassContext
    recipe: Recipe
    tune: Tune
    pipeline: Pipeline
    study: Any
    base_session: Any
    base_size: int
    built: dict[str, Evaluated] = field(default_factory=dict)  # canonical key -> this process's candidate

    # -- one trial --------------------------------------------------------------------------------

    def objective(self, trial: Any) -> float:
        params = self.pipeline.suggest(trial)
        key = canonical(params)
        trial.set_user_attr("key", key)
        trial.set_user_attr("phase", trial.user_attrs.get("phase", "search"))
        earlier = self.finished_by_key().get(key)
        if earlier is not None:  # the same candidate again: reuse its measurements
            trial.set_user_attr("duplicate_of", earlier.number)
            for name in ("metrics", "error", "float_nodes"):
                if name in earlier.user_attrs:
                    trial.set_user_attr(name, earlier.user_attrs[name])
            trial.set_constraint("quality_limit", earlier.constraints.get("quality_limit", FAILED_GAP))
            return float(earlier.values[0])
        try:
            path, floats = self.pipeline.build(params)
            session = self.ctx.session(path)
            quality = self.ctx.assess(path, session)
        except EngineError as exc:
            # Recorded as a complete trial that is far outside the limit, so the sampler learns to avoid it.
            trial.set_user_attr("error", exc.message)
            trial.set_constraint("quality_limit", FAILED_GAP)
            return 0.0
        gap, why = self.ctx.limit_gap(quality)
        timing = evaluate.measure_latency(
            {"input": self.base_session, "candidate": session},
            self.ctx.latency_feed(),
            self.ctx.latency_batch,
            budget_s=TRIAL_LATENCY_BUDGET_S,
        )
        size = evaluate.file_size(path)
        speedup = timing.speedup("input", "candidate")
        metrics = {
            "within_limit": quality.within,
            "quality": why,
            "limit_gap": gap,
            "decided_by": quality.decided_by,
            "speedup": speedup.value,
            "speedup_interval": [speedup.low, speedup.high],
            "latency_ms_p50": timing["candidate"].p50_ms,
            "input_latency_ms_p50": timing["input"].p50_ms,
            "throughput_gain": timing["candidate"].throughput_per_s / timing["input"].throughput_per_s,
            "throughput_per_s": timing["candidate"].throughput_per_s,
            "size_bytes": size,
            "size_reduction": self.base_size / size,
            "accuracy_drop": self.accuracy_drop(quality),
            "top1_agreement": quality.fidelity.get("top1_agreement"),
            "cosine_mean": quality.fidelity["cosine_mean"],
        }
        trial.set_user_attr("metrics", metrics)
        trial.set_constraint("quality_limit", gap)
        trial.set_user_attr("float_nodes", floats)
        self.built[key] = Evaluated(path, floats)
        return self.score(metrics)

    def score(self, metrics: dict[str, Any]) -> float:
        return float(metrics[objective_word(self.tune.objective).replace(" ", "_")])

    def accuracy_drop(self, quality: Quality) -> float | None:
        base = self.ctx.baseline_quality.accuracy
        return base["top1"] - quality.accuracy["top1"] if base and quality.accuracy else None

    # -- the study's history ---------------------------------------------------------------------

    def finished_by_key(self) -> dict[str, Any]:
        """Every distinct candidate measured (or found unbuildable) so far, earlier attempts included."""
        import optuna

        return {
            t.user_attrs["key"]: t
            for t in self.study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE
            and ("metrics" in t.user_attrs or "error" in t.user_attrs)
            and "duplicate_of" not in t.user_attrs
        }

    def distinct_trials(self) -> int:
        return len(self.finished_by_key())

    def run_one(self, params: dict[str, Any] | None, phase: str) -> Any:
        """Run one trial (``params`` fixed, or proposed by the sampler); emit it as an event; return it."""
        import optuna

        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
        trials = self.study.get_trials(deepcopy=False)
        before = {t.number for t in trials if t.state in finished}
        if params is not None and not any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            self.study.enqueue_trial(params, user_attrs={"phase": phase})
        self.study.optimize(self.objective, n_trials=1, gc_after_trial=False)
        trial = max(
            (t for t in self.study.get_trials(deepcopy=False) if t.state in finished and t.number not in before),
            key=lambda t: t.number,
        )
        row = trial_row(trial, self.tune.objective)
        self.ctx.reporter.event("trial", row["summary"], data=row)
        return trial

    def reference_trials(self) -> list[dict[str, Any]]:
        """The fixed trials that come first: the passes as written and, under ``quantize: auto``, every
        candidate ``auto`` itself would measure, so the search starts from what the defaults can reach."""
        reference = self.pipeline.reference()
        space = self.pipeline.quantize
        if space is None:
            return [reference]
        others = {k: v for k, v in reference.items() if not k.startswith(space.key + ".")}
        return [reference] + [{**others, **variant} for variant in space.auto_variants(reference)]

    def greedy_probe(self) -> dict[str, Any] | None:
        """The next float-node count to try on the reference options, or None when the fallback is done.

        Bisection over the sensitivity ranking for the fewest units kept in float that meet the limit
        (keeping more nodes in float hardly ever hurts quality, so the passing counts form a tail).
        """
        space = self.pipeline.quantize
        if space is None or not space.max_float_units or space.reference_mode() not in ("static", "dynamic"):
            return None
        name = space.name("float_nodes")
        reference = {k: v for k, v in self.pipeline.reference().items() if k != name}
        outcome: dict[int, bool] = {}
        for trial in self.finished_by_key().values():
            options = {k: v for k, v in trial.params.items() if k != name}
            if options == reference:
                metrics = trial.user_attrs.get("metrics")
                outcome[int(trial.params.get(name, 0))] = bool(metrics and metrics["within_limit"])
        if 0 not in outcome or outcome[0]:
            return None  # the reference has not run, or it meets the limit: nothing to fall back on
        failing = max(k for k, ok in outcome.items() if not ok)
        passing = min((k for k, ok in outcome.items() if ok), default=space.max_float_units + 1)
        if passing - failing <= 1 or failing >= space.max_float_units:
            return None
        return {**reference, name: (failing + passing) // 2}


def _sampler(optuna: Any, tune: Tune, pipeline: Pipeline) -> Any:
    if tune.sampler == "random":
        return optuna.samplers.RandomSampler(seed=tune.seed)
    if tune.sampler == "grid":
        return optuna.samplers.GridSampler(pipeline.grid(), seed=tune.seed)
    return optuna.samplers.TPESampler(
        seed=tune.seed,
        n_startup_trials=max(3, min(10, tune.trials // 3)),
        multivariate=True,
        group=True,
    )


def _open_study(optuna: Any, tune: Tune, storage_url: str | None, study_name: str | None) -> tuple[Any, Any, int]:
    """Create or load the study; interrupted trials of an earlier attempt are marked failed, not counted."""
    storage: Any = None
    if storage_url:
        try:
            storage = optuna.storages.RDBStorage(storage_url, engine_kwargs={"pool_pre_ping": True})
        except Exception as exc:  # noqa: BLE001 - a storage we cannot open is the job's problem, said plainly
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise EngineError("tuning_storage_unavailable", f"cannot open the tuning study storage: {first}") from None
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction="maximize",
        load_if_exists=bool(storage_url),
        sampler=optuna.samplers.RandomSampler(seed=tune.seed),  # the fixed first trials; replaced after them
    )
    resumed = 0
    for trial in study.get_trials(deepcopy=False):
        if trial.state == optuna.trial.TrialState.RUNNING and storage is not None:
            # Its worker died mid-trial: one attempt of a job runs at a time (the job row's attempt guard),
            # so every RUNNING trial found at start is dead. FrozenTrial exposes its storage id only as _trial_id.
            storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        elif trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL):
            resumed += 1
    return study, storage, resumed


def run(
    ctx: PassContext,
    recipe: Recipe,
    source: Path,
    *,
    storage_url: str | None = None,
    study_name: str | None = None,
) -> tuple[PassResult, dict[str, Any]]:
    """Search the recipe's options for the best candidate within the quality limit.

    Returns the chosen model (as a pass result) and the ``tuning`` section of the report.
    """
    import optuna

    assert recipe.tune is not None
    tune = recipe.tune
    reporter = ctx.reporter
    started = time.monotonic()
    deadline = None if tune.timeout_s is None else started + tune.timeout_s
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    reporter.enter("tuning: preparing", 0.15, 0.22)
    pipeline = Pipeline(ctx, recipe, source)
    study, storage, resumed = _open_study(optuna, tune, storage_url, study_name)
    if resumed:
        reporter.log(f"resuming the tuning study: {resumed} trial(s) already finished", {"resumed_trials": resumed})
    pipeline.prepare()
    space = pipeline.quantize
    if space is not None and "sensitivity" in study.user_attrs:
        space.ranking = study.user_attrs["sensitivity"]
    base_session = ctx.session(source)
    state = TuningRun(ctx, recipe, tune, pipeline, study, base_session, evaluate.file_size(source))

    def timed_out() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    reporter.enter("tuning: trials", 0.22, 0.82)
    stopped = "trials"
    for params in state.reference_trials():
        if state.distinct_trials() >= tune.trials or canonical(params) in state.finished_by_key():
            continue
        if state.distinct_trials() and timed_out():
            break
        state.run_one(params, "reference")
        reporter.update(state.distinct_trials() / tune.trials)

    if space is not None and space.ranks_nodes and "sensitivity" not in study.user_attrs and not timed_out():
        reporter.log("measuring each node's sensitivity to quantization")
        with _substage(reporter):
            space.ranking = space.measure_sensitivity()
        study.set_user_attr("sensitivity", space.ranking)

    sampler = _sampler(optuna, tune, pipeline)
    explorer = optuna.samplers.RandomSampler(seed=tune.seed + 1)  # answers a repeated TPE proposal
    repeated = False
    proposals = 0
    while True:
        reporter.check()
        if state.distinct_trials() >= tune.trials:
            break
        if timed_out():
            stopped = "timeout"
            break
        if proposals >= MAX_PROPOSALS_PER_TRIAL * tune.trials:
            stopped = "proposals exhausted"
            break
        if tune.sampler == "grid" and sampler.is_exhausted(study):
            stopped = "grid exhausted"
            break
        probe = state.greedy_probe()
        study.sampler = explorer if repeated and tune.sampler == "tpe" else sampler
        trial = state.run_one(probe, "greedy" if probe is not None else "search")
        repeated = "duplicate_of" in trial.user_attrs
        proposals += 1
        reporter.update(state.distinct_trials() / tune.trials)
    if stopped == "trials" and timed_out() and state.distinct_trials() < tune.trials:
        stopped = "timeout"

    reporter.enter("tuning: choosing", 0.82, 0.86)
    result, tuning = choose(state, stopped)
    tuning.update(
        study_name=study.study_name,
        storage="database" if storage is not None else "memory",
        resumed_trials=resumed,
        elapsed_s=time.monotonic() - started,
    )
    return result, tuning


class _substage:
    """Sensitivity progress maps onto the current stage's span without moving it backwards."""

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter

    def __enter__(self) -> None:
        self.span = self.reporter.span
        start = self.reporter.fraction
        self.reporter.span = (start, start + (self.span[1] - start) * 0.3)

    def __exit__(self, *exc: object) -> None:
        self.reporter.span = self.span
