"""report.html's task sections: per-class metrics and the confusion matrix, and the transfer pass's comparison.

The numbers come from ``report.task_metrics`` and the transfer pass's entry in ``report.passes``; the
plots of the same data are made in ``plots`` (this module renders tables only).
"""

from __future__ import annotations

from typing import Any

from app.core.schemas.report import Report, TaskScores
from worker.engine.report import esc, num, table


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f} %"


def _scores_row(name: str, scores: dict[str, Any] | TaskScores, seconds: float | None = None) -> list[str]:
    data = scores.model_dump() if isinstance(scores, TaskScores) else scores
    wall = "–" if seconds is None else f"{seconds:.1f}"
    if data["task"] == "regression":
        return [esc(name), num(data.get("mse")), num(data.get("mae")), num(data.get("r2")), wall]
    return [esc(name), _pct(data.get("accuracy")), _pct(data.get("f1_macro")), str(data["samples"]), wall]


def _confusion_html(scores: TaskScores, table_id: str) -> str:
    names = [row.name for row in scores.per_class]
    rows = [
        [esc(names[i] if i < len(names) else i)] + [str(v) for v in line] for i, line in enumerate(scores.confusion)
    ]
    head = ["true \\ predicted"] + [esc(n) for n in names]
    return table(head, rows, table_id=table_id)


def task_html(report: Report) -> str:
    """Per-class precision / recall / F1 of the baseline and the result, and the result's confusion matrix."""
    metrics = report.task_metrics
    if metrics is None:
        return ""
    base, result = metrics.baseline, metrics.optimized
    if result.task == "regression":
        return "<h2>Task metrics</h2>" + table(
            ["model", "MSE", "MAE", "R²", ""],
            [_scores_row("baseline", base)[:4] + [""], _scores_row("optimized", result)[:4] + [""]],
            table_id="task-metrics",
        )
    rows = []
    for before, after in zip(base.per_class, result.per_class, strict=False):
        rows.append(
            [
                esc(after.name),
                str(after.support),
                num(before.precision, 3),
                num(after.precision, 3),
                num(before.recall, 3),
                num(after.recall, 3),
                num(before.f1, 3),
                num(after.f1, 3),
            ]
        )
    summary = (
        f"<p>On output <code>{esc(metrics.output)}</code>, {result.samples} evaluation samples: accuracy "
        f"{_pct(base.accuracy)} → {_pct(result.accuracy)}, macro-F1 {_pct(base.f1_macro)} → {_pct(result.f1_macro)}"
        f" (baseline: {'the transferred model' if report.baseline_model == 'transferred' else 'the input'}).</p>"
    )
    head = ["class", "support", "precision before", "after", "recall before", "after", "F1 before", "after"]
    return (
        "<h2>Task metrics</h2>"
        + summary
        + table(head, rows, table_id="per-class")
        + "<h3>Confusion matrix of the result</h3>"
        + _confusion_html(result, "confusion")
    )


def transfer_html(report: Report) -> str:
    """The transfer pass: the transferred model beside its baselines (the probe, and scratch when asked)."""
    entry = next((p for p in report.passes if p.get("type") == "transfer"), None)
    if entry is None:
        return ""
    metrics: dict[str, Any] = entry["metrics"]
    training: dict[str, Any] = entry["training"]
    regression = entry.get("task") == "regression"
    head = ["model", "MSE", "MAE", "R²", "training (s)"] if regression else ["model", "accuracy", "macro-F1"]
    if not regression:
        head += ["evaluation samples", "training (s)"]
    rows = []
    for name, scores in metrics.items():
        label = f"transferred ({entry['mode']})" if name == "transferred" else f"{name} (baseline)"
        seconds = training.get(entry["mode"] if name == "transferred" else name, {}).get("seconds")
        rows.append(_scores_row(label, scores, seconds))
    old = entry["head"]
    stops = [
        f"{esc(name)}: {esc(details['epochs_run'])} epoch(s), {esc(details.get('stop_reason') or '')}"
        for name, details in training.items()
        if details.get("epochs_run")
    ]
    return (
        "<h2>Transfer</h2>" + f"<p>New head for {entry['classes']} {'targets' if regression else 'classes'} on feature "
        f"<code>{esc(old['feature'])}</code> ({entry['feature_dim']} values), replacing "
        f"<code>{esc(old['old_head_node'] or '–')}</code> ({esc(old['old_classes'] or '?')} outputs); "
        f"{esc(entry['comparison']['summary'] or 'no baseline')}; winner: <b>{esc(entry['comparison']['winner'])}</b>."
        "</p>" + table(head, rows, table_id="transfer") + (f"<p>Training: {'; '.join(stops)}.</p>" if stops else "")
    )
