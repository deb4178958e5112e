"""Trials as report rows and events, the Pareto front, the shortfall sentence, and the tuning plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worker.engine.context import PassContext

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


def plots(tuning: Any, out_dir: Path) -> dict[str, Path]:
    """tuning_pareto.png (objective vs quality, every trial) and tuning_sensitivity.png (the ranking)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    word = objective_word(tuning.objective)
    made: dict[str, Path] = {}
    measured = [t for t in tuning.trials if t.metrics and t.state == "complete"]
    if measured:
        figure, axis = plt.subplots(figsize=(5.5, 4), dpi=100)
        for ok, color, label in ((True, "#2a7ae2", "within the limit"), (False, "#d9534f", "breaks the limit")):
            chosen = [t for t in measured if bool(t.metrics["within_limit"]) == ok]
            axis.scatter(
                [quality_loss(t.metrics) for t in chosen],
                [t.score for t in chosen],
                c=color,
                label=label,
                alpha=0.75,
            )
        front = sorted(tuning.pareto, key=lambda p: p.quality_loss)
        axis.plot([p.quality_loss for p in front], [p.score for p in front], "k--", lw=1, label="Pareto front")
        axis.set_xlabel("quality loss (accuracy points, or 1 - agreement / cosine)")
        axis.set_ylabel(f"{word} (×, vs the input)")
        axis.set_title("tuning trials")
        axis.legend(fontsize=8)
        figure.tight_layout()
        made["tuning_pareto.png"] = out_dir / "tuning_pareto.png"
        figure.savefig(made["tuning_pareto.png"])
        plt.close(figure)
    if tuning.sensitivity:
        rows = tuning.sensitivity[:16]
        figure, axis = plt.subplots(figsize=(6, 0.35 * len(rows) + 1.2), dpi=100)
        labels = [(r.nodes[0] + (f" +{len(r.nodes) - 1}" if len(r.nodes) > 1 else ""))[:40] for r in rows]
        values = [r.fidelity_loss for r in rows]
        axis.barh(labels[::-1], values[::-1], color="#e2a72a")
        axis.set_xlabel("1 - cosine to the original, quantizing only this node (group)")
        axis.set_title("sensitivity to int8, most sensitive on top")
        figure.tight_layout()
        made["tuning_sensitivity.png"] = out_dir / "tuning_sensitivity.png"
        figure.savefig(made["tuning_sensitivity.png"])
        plt.close(figure)
    return made
