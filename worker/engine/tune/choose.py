"""The tuning study's outcome: the best candidate within the limit (finalists re-timed side by side), else
the closest one, and the report's ``tuning`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.engine import evaluate
from worker.engine.context import PassResult
from worker.engine.errors import EngineError
from worker.engine.tune.pipeline import Evaluated
from worker.engine.tune.report import pareto_front, shortfall, trial_row

if TYPE_CHECKING:
    from worker.engine.tune.study import TuningRun

FINALISTS = 4


def choose(state: TuningRun, stopped: str) -> tuple[PassResult, dict[str, Any]]:
    """The best candidate within the limit (finalists re-timed side by side), else the closest one."""
    ctx, tune = state.ctx, state.tune
    trials = sorted(state.study.get_trials(deepcopy=False), key=lambda t: t.number)
    rows = [trial_row(t, tune.objective) for t in trials if "key" in t.user_attrs]
    distinct = [t for t in state.finished_by_key().values() if "metrics" in t.user_attrs]
    if not distinct:
        errors = "; ".join(sorted({str(t.user_attrs.get("error")) for t in trials if t.user_attrs.get("error")}))
        raise EngineError("tuning_failed", f"no tuning candidate could be built or run: {errors or 'no trials ran'}")
    passing = [t for t in distinct if t.user_attrs["metrics"]["within_limit"]]
    warnings: list[str] = []
    if passing:
        finalists = sorted(passing, key=lambda t: t.values[0], reverse=True)[:FINALISTS]
        chosen = finalists[0]
        if len(finalists) > 1 and tune.objective != "size":
            sessions = {str(t.number): _evaluated(state, t).session for t in finalists}
            timing = evaluate.measure_latency(
                {"input": state.base_session, **sessions},
                ctx.latency_feed(),
                ctx.latency_batch,
                budget_s=2 * ctx.latency_budget_s,
            )
            key = "p50_ms" if tune.objective == "latency" else "throughput_per_s"
            pick = min if tune.objective == "latency" else max
            fastest = pick(sessions, key=lambda n: getattr(timing[n], key))
            chosen = next(t for t in finalists if str(t.number) == fastest)
        gap_text = None
    else:
        chosen = min(distinct, key=lambda t: (t.user_attrs["metrics"]["limit_gap"], -t.values[0]))
        gap_text = shortfall(chosen.user_attrs["metrics"], ctx, tune.objective)
        warnings.append(f"tuning found no candidate within the quality limit ({gap_text}); returning the closest one")
    evaluated = _evaluated(state, chosen)
    space = state.pipeline.quantize
    kept = space.kept_in_float(dict(chosen.params), evaluated.floats) if space is not None else []
    summary = {
        "type": "tune",
        "chosen": chosen.number,
        "params": dict(chosen.params),
        "metrics": chosen.user_attrs["metrics"],
        "kept_in_float": kept,
    }
    tuning = {
        "objective": tune.objective,
        "sampler": tune.sampler,
        "seed": tune.seed,
        "trials_requested": tune.trials,
        "trials_evaluated": len(state.finished_by_key()),
        "stopped": stopped,
        "limit": ctx.limit.model_dump(),
        "trials": rows,
        "pareto": pareto_front(distinct, tune.objective),
        "best_trial": chosen.number,
        "goal_met": bool(passing),
        "shortfall": gap_text,
        "sensitivity": space.ranking if space else [],
    }
    return PassResult(evaluated.path, summary, warnings, goal_met=bool(passing)), tuning


def _evaluated(state: TuningRun, trial: Any) -> Evaluated:
    """This process's build of ``trial``'s candidate (rebuilt from its options after a resume), with a session."""
    key = trial.user_attrs["key"]
    if key not in state.built:
        path, floats = state.pipeline.build(dict(trial.params))
        state.built[key] = Evaluated(path, floats)
    evaluated = state.built[key]
    if evaluated.session is None:
        evaluated.session = state.ctx.session(evaluated.path)
    return evaluated
