"""One rendering of a job report for terminals (rich), shared by the client CLI and ``slimline optimize``."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The summary line, baseline vs optimized, and every output's verdict."""
    console.print(report_summary(report))
    console.print(report_table(report))
    outputs = outputs_table(report)
    if outputs is not None:
        console.print(outputs)


def speedup_text(report: dict[str, Any]) -> str:
    """``1.42× (95 % interval 1.30–1.51)``, or ``1.00× (unchanged)``."""
    if report.get("unchanged"):
        return f"{report['speedup']:.2f}× (unchanged)"
    interval = report.get("speedup_interval")
    if not interval:
        return f"{report['speedup']:.2f}×"
    return (
        f"{report['speedup']:.2f}× ({interval['confidence']:.0%} interval {interval['low']:.2f}–{interval['high']:.2f})"
    )


def report_summary(report: dict[str, Any]) -> str:
    """One line: speedup with its interval, size ratio, accuracy drop, the verdict, the goal."""
    parts = [f"speedup {speedup_text(report)}", f"size ratio {report['size_ratio']:.2f}"]
    if report.get("accuracy_drop") is not None:
        parts.append(f"accuracy drop {report['accuracy_drop']:+.4f}")
    verdict = report.get("verdict")
    if verdict:
        how = " by rollout" if verdict.get("judged_by") == "rollout" else ""
        parts.append(f"quality {'within' if verdict['within'] else 'OUTSIDE'} the limit{how} ({verdict['decided_by']})")
    parts.append(f"goal met: {'yes' if report['goal_met'] else 'no'}")
    return ", ".join(parts)


def report_table(report: dict[str, Any]) -> Table:
    """Baseline vs optimized, measured in the same job on the same machine."""
    table = Table()
    for column in ("", "baseline", "optimized"):
        table.add_column(column, justify="right" if column else "left")
    base, opt = report["baseline"], report["optimized"]
    table.add_row("size (bytes)", f"{base['size_bytes']:,}", f"{opt['size_bytes']:,}")
    table.add_row("parameters", f"{base['parameter_count']:,}", f"{opt['parameter_count']:,}")
    table.add_row("latency p50 (ms)", f"{base['latency_ms_p50']:.3f}", f"{opt['latency_ms_p50']:.3f}")
    table.add_row("latency p95 (ms)", f"{base['latency_ms_p95']:.3f}", f"{opt['latency_ms_p95']:.3f}")
    table.add_row("throughput (/s)", f"{base['throughput_per_s']:.1f}", f"{opt['throughput_per_s']:.1f}")
    if base.get("accuracy") and opt.get("accuracy"):
        table.add_row("top-1 accuracy", f"{base['accuracy']['top1']:.4f}", f"{opt['accuracy']['top1']:.4f}")
    fidelity = opt.get("fidelity") or {}
    if fidelity.get("top1_agreement") is not None:
        table.add_row("top-1 agreement", "1.0000", f"{fidelity['top1_agreement']:.4f}")
    if fidelity.get("cosine_mean") is not None:
        table.add_row("cosine to original", "1.0000", f"{fidelity['cosine_mean']:.4f}")
    return table


# The metrics worth a column, per output kind, in the order they are shown.
_SHOWN = {
    "classifier": ("accuracy_drop", "top1_agreement", "cosine_mean"),
    "small": ("normalized_rmse", "decision_agreement", "pearson", "max_abs_error"),
    "dense": ("cosine_mean", "cosine_min", "snr_db"),
    "integer": ("exact_match", "sample_exact_match"),
}


def outputs_table(report: dict[str, Any]) -> Table | None:
    """Every output judged: kind, the metrics that matter for it, its limits, within or not."""
    outputs = (report.get("optimized") or {}).get("per_output") or []
    if not outputs:
        return None
    verdict = report.get("verdict") or {}
    title = "quality, per output"
    if verdict.get("judged_by") == "rollout":
        title += f" (rollout over {verdict.get('sequences')} sequence(s), {verdict.get('steps')} steps)"
    table = Table(title=title)
    for column in ("output", "kind", "metrics", "limits", "within"):
        table.add_column(column)
    for output in outputs:
        metrics = output.get("metrics") or {}
        shown = ", ".join(
            f"{k} {metrics[k]:.4f}" for k in _SHOWN.get(output["kind"], ()) if metrics.get(k) is not None
        ) or ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if v is not None)
        limits = ", ".join(f"{k} {v:g}" for k, v in (output.get("limits") or {}).items())
        within = "ignored" if output.get("ignored") else ("yes" if output["within"] else "NO")
        name = output["name"] + (" *" if output["name"] == verdict.get("decided_by") else "")
        table.add_row(name, output["kind"], shown, limits, within)
    return table
