"""Trials as report rows and events, the Pareto front, the shortfall sentence, and the tuning plots."""

from __future__ import annotations

from typing import Any

from worker.engine.context import PassContext

DRIFT = 1.25  # the input timed this much apart during the search and in the final comparison: worth saying
OBJECTIVE_WORDS = {"latency": "speedup", "throughput": "throughput gain", "size": "size reduction"}


def objective_word(objective: str) -> str:
    return OBJECTIVE_WORDS[objective]


def quality_loss(metrics: dict[str, Any]) -> float:
    """The limit's metric as a loss (lower is better): accuracy points lost, else 1 - agreement, else 1 - cosine."""
    if metrics.get("accuracy_drop") is not None:
        return float(metrics["accuracy_drop"])
    if metrics.get("top1_agreement") is not None:
        return 1.0 - float(metrics["top1_agreement"])
    if metrics.get("cosine_mean") is not None:
        return 1.0 - float(metrics["cosine_mean"])
    return float(metrics["limit_gap"])  # small or integer outputs: the verdict's own distance to its limit


def trial_row(trial: Any, objective: str) -> dict[str, Any]:
    """One trial as it appears in the report's table and in its ``trial`` event."""
    attrs = trial.user_attrs
    metrics = attrs.get("metrics")
    state = "failed" if trial.values is None or attrs.get("error") else "complete"
    if attrs.get("duplicate_of") is not None:
        state = "duplicate"
    if attrs.get("interrupted"):
        state = "interrupted"
    row: dict[str, Any] = {
        "number": trial.number,
        "phase": attrs.get("phase", "search"),
        "state": state,
        "params": dict(trial.params),
        "score": None if trial.values is None or metrics is None else float(trial.values[0]),
        "metrics": metrics,
        "float_nodes": attrs.get("float_nodes", []),
        "duplicate_of": attrs.get("duplicate_of"),
        "error": attrs.get("error"),
    }
    word = objective_word(objective)
    options = ", ".join(f"{k.split('.', 1)[-1]}={v}" for k, v in trial.params.items())
    if metrics:
        verdict = "within the limit" if metrics["within_limit"] else "breaks the limit"
        again = f" (same candidate as trial {row['duplicate_of']})" if row["duplicate_of"] is not None else ""
        row["summary"] = (
            f"trial {trial.number} [{row['phase']}] {options}: {row['score']:.2f}× {word}, "
            f"{metrics['quality']}, {verdict}{again}"
        )
    else:
        row["summary"] = f"trial {trial.number} [{row['phase']}] {options}: failed ({row['error'] or 'interrupted'})"
    return row


def pareto_front(trials: list[Any], objective: str) -> list[dict[str, Any]]:
    """Trials no other trial beats on both the objective and quality, best objective first."""
    points = [(t.number, float(t.values[0]), quality_loss(t.user_attrs["metrics"]), t) for t in trials]
    front = [
        p for p in points if not any(q[1] >= p[1] and q[2] <= p[2] and (q[1] > p[1] or q[2] < p[2]) for q in points)
    ]
    front.sort(key=lambda p: -p[1])
    return [
        {
            "number": number,
            "score": score,
            "quality_loss": loss,
            "within_limit": bool(trial.user_attrs["metrics"]["within_limit"]),
            "params": dict(trial.params),
        }
        for number, score, loss, trial in front
    ]


def shortfall(metrics: dict[str, Any], ctx: PassContext, objective: str) -> str:
    """The closest candidate's miss in plain words, e.g. "best: 1.80 points drop at 2.10× speedup; limit 1.00"."""
    word = objective_word(objective)
    score = metrics[word.replace(" ", "_")]
    base = ctx.baseline_quality.accuracy
    if metrics.get("accuracy_drop") is not None and base is not None:
        allowed = ctx.limit.max_accuracy_drop * (base["top1"] if ctx.limit.relative else 1.0)
        return (
            f"best: {metrics['accuracy_drop'] * 100:.2f} points drop at {score:.2f}× {word}; "
            f"limit {allowed * 100:.2f} points"
        )
    if metrics.get("top1_agreement") is not None:
        return (
            f"best: top-1 agreement {metrics['top1_agreement']:.4f} at {score:.2f}× {word}; "
            f"limit {ctx.limit.min_top1_agreement}"
        )
    if metrics.get("cosine_mean") is not None:
        return (
            f"best: cosine similarity {metrics['cosine_mean']:.6f} at {score:.2f}× {word}; limit {ctx.limit.min_cosine}"
        )
    return f"best: {metrics['quality']} at {score:.2f}× {word}"


def trial_points(tuning: Any, axis: Any, baseline_ms: float) -> list[Any]:
    """Every measured trial on the quality/latency plane, at the job's baseline p50 / the trial's speedup.

    A trial's speedup was timed side by side with the input during the search; the job's baseline is the
    final comparison's, so every trial, candidate and the result share one scale.
    """
    from worker.engine.plots import Point

    points = []
    for trial in tuning.trials:
        metrics = trial.metrics
        if trial.state != "complete" or not metrics or not metrics.get("speedup"):
            continue
        quality = axis.of_trial(metrics)
        if quality is not None:
            within = bool(metrics["within_limit"])
            points.append(Point(f"trial {trial.number}", baseline_ms / metrics["speedup"], quality, "trial", within))
    return points


def sensitivity_plot(tuning: Any) -> Any:
    """Per-node sensitivity to int8, most sensitive on top, with the nodes' names and op types readable."""
    from worker.engine.plots import horizontal_bars

    rows = []
    for entry in tuning.sensitivity:
        more = f" +{len(entry.nodes) - 1}" if len(entry.nodes) > 1 else ""
        ops = "/".join(dict.fromkeys(entry.op_types))
        rows.append((f"{entry.nodes[0]}{more} ({ops})", entry.fidelity_loss))
    return horizontal_bars(
        rows,
        name="sensitivity.png",
        title="sensitivity to int8: quantizing only this node (group), most sensitive on top",
        xlabel="1 - cosine similarity to the input",
        caption="Per-layer sensitivity: what quantizing only this node (or group) costs, measured on the "
        "evaluation split; the search keeps the most sensitive ones in float.",
        color="#e2a72a",
    )


def tuning_html(report: Any) -> str:
    """The tuning section: the study in one sentence, the final vs the trial timing, trials and sensitivity."""
    import html

    from worker.engine.report import num, table

    tuning = report.tuning
    if tuning is None:
        return ""
    esc = html.escape
    word = objective_word(tuning.objective)
    verdict = "goal met" if tuning.goal_met else esc(tuning.shortfall or "goal not met")
    parts = [
        f"<h2>Tuning</h2><p>{tuning.trials_evaluated} of {tuning.trials_requested} trials "
        f"({esc(tuning.sampler)}, objective {esc(tuning.objective)}), stopped by {esc(tuning.stopped)} after "
        f"{tuning.elapsed_s:.1f} s; best trial {tuning.best_trial}; {verdict}.</p>",
        f"<p>Each trial's {esc(word)} was timed briefly, side by side with the input, during the search; the "
        "plot puts every trial on the job's one baseline (the final comparison's p50 divided by the trial's "
        "speedup). The job's result is the final comparison, timed longer.</p>",
    ]
    inputs = [
        t.metrics["input_latency_ms_p50"] for t in tuning.trials if t.metrics and t.metrics.get("input_latency_ms_p50")
    ]
    final_ms = report.baseline.latency_ms_p50
    if inputs and final_ms > 0:
        search_ms = sorted(inputs)[len(inputs) // 2]
        apart = max(search_ms, final_ms) / min(search_ms, final_ms)
        sentence = (
            f"The input itself timed at {search_ms:.3f} ms p50 during the search (median over the trials) and "
            f"{final_ms:.3f} ms in the final comparison"
        )
        if apart > DRIFT:
            parts.append(
                f'<p class="bad">{sentence}: {apart:.2f}× apart, so the machine ran at another speed during the '
                "search. Speedups measured side by side stay fair; absolute latencies from the search are not "
                "comparable with the final ones, which is why the plot uses the speedups only.</p>"
            )
        else:
            parts.append(f"<p>{sentence}.</p>")
    best = next((t for t in tuning.trials if t.number == tuning.best_trial), None)
    interval = report.speedup_interval
    if best is not None and best.metrics and best.metrics.get("speedup_interval") and not report.unchanged:
        low, high = best.metrics["speedup_interval"]
        final = f"{report.speedup:.2f}× [{interval.low:.2f}, {interval.high:.2f}]"
        during = f"{best.metrics['speedup']:.2f}× [{low:.2f}, {high:.2f}]"
        if high < interval.low or low > interval.high:
            parts.append(
                f'<p class="bad">Trial {best.number} measured {during} during the search and {final} in the final '
                "comparison: the intervals do not overlap, so the machine's speed changed between the two timings "
                "(or the short search timing was off). The final comparison is the one this report stands on.</p>"
            )
        else:
            parts.append(f"<p>Trial {best.number}: {during} during the search, {final} in the final comparison.</p>")
    rows = []
    for t in tuning.trials:
        metrics = t.metrics or {}
        speed = "–"
        if metrics.get("speedup") is not None:
            speed = f"{metrics['speedup']:.2f}×"
            if metrics.get("speedup_interval"):
                speed += " [{:.2f}, {:.2f}]".format(*metrics["speedup_interval"])
        options = ", ".join(f"{k.split('.', 1)[-1]}={v}" for k, v in t.params.items())
        within = metrics.get("within_limit")
        rows.append(
            [
                str(t.number) + (" <b>(chosen)</b>" if t.number == tuning.best_trial else ""),
                esc(t.phase),
                esc(t.state + (f" of {t.duplicate_of}" if t.duplicate_of is not None else "")),
                esc(options),
                "–" if t.score is None else f"{t.score:.2f}×",
                speed,
                num(metrics.get("latency_ms_p50")),
                "–" if within is None else ("yes" if within else '<span class="bad">no</span>'),
                esc(metrics.get("quality", t.error or "")),
            ]
        )
    head = ["#", "phase", "state", "options", word, "speedup vs the input [95 %]", "p50 (ms)", "within", "quality"]
    parts.append(table(head, rows, table_id="trials", text_columns=4, text_last=True))
    if tuning.sensitivity:
        sens = [
            [
                str(e.rank),
                esc(", ".join(e.nodes)),
                esc(", ".join(e.op_types)),
                num(e.fidelity_loss),
                num(e.top1_agreement),
                num(e.accuracy_drop),
                esc(e.quality),
            ]
            for e in tuning.sensitivity
        ]
        head = ["rank", "nodes", "ops", "1 - cosine", "top-1 agreement", "accuracy drop", "quality"]
        parts.append("<h3>Sensitivity</h3>" + table(head, sens, table_id="sensitivity", text_columns=3, text_last=True))
    return "".join(parts)
