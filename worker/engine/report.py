"""report.json (validated against app.core.schemas.report.Report), report.html and its PNG plots."""

from __future__ import annotations

import html
import json
import platform
from pathlib import Path
from typing import Any

from app.core.schemas.report import Report


def environment(device: str, providers: list[str], threads: int, batch_size: int, runs: int) -> dict[str, Any]:
    import numpy
    import onnx
    import onnxruntime

    libraries = {
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
    try:
        import torch

        libraries["torch"] = torch.__version__
    except ImportError:  # torch is optional for ONNX-only jobs
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "device": device,
        "providers": providers,
        "threads": threads,
        "batch_size": batch_size,
        "cpu": cpu,
        "latency_runs": runs,
        "libraries": libraries,
    }


def _plots(report: Report, out_dir: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: dict[str, Path] = {}
    labels = ["baseline", "optimized"]
    series = {
        "latency.png": ("latency p50 (ms)", [report.baseline.latency_ms_p50, report.optimized.latency_ms_p50]),
        "size.png": ("size (MB)", [report.baseline.size_bytes / 1e6, report.optimized.size_bytes / 1e6]),
    }
    if report.baseline.accuracy and report.optimized.accuracy:
        series["accuracy.png"] = ("top-1 accuracy", [report.baseline.accuracy.top1, report.optimized.accuracy.top1])
    elif report.baseline.fidelity.cosine_mean is not None and report.optimized.fidelity.cosine_mean is not None:
        series["fidelity.png"] = (
            "cosine similarity to the original",
            [report.baseline.fidelity.cosine_mean, report.optimized.fidelity.cosine_mean],
        )
    for name, (title, values) in series.items():
        figure, axis = plt.subplots(figsize=(4, 3), dpi=100)
        bars = axis.bar(labels, values, color=["#8a8a8a", "#2a7ae2"])
        axis.bar_label(bars, fmt="%.3g")
        axis.set_title(title)
        figure.tight_layout()
        path = out_dir / name
        figure.savefig(path)
        plt.close(figure)
        plots[name] = path
    return plots


def _row(name: str, base: Any, opt: Any) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(base))}</td><td>{html.escape(str(opt))}</td></tr>"


def _tuning_html(report: Report) -> str:
    tuning = report.tuning
    if tuning is None:
        return ""
    head = "<tr><th>#</th><th>phase</th><th>state</th><th>options</th><th>score</th><th>quality</th></tr>"
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                t.number,
                t.phase,
                t.state,
                ", ".join(f"{k}={v}" for k, v in t.params.items()),
                "" if t.score is None else f"{t.score:.2f}×",
                (t.metrics or {}).get("quality", t.error or ""),
            )
        )
        + "</tr>"
        for t in tuning.trials
    )
    verdict = "goal met" if tuning.goal_met else html.escape(tuning.shortfall or "goal not met")
    return (
        f"<h2>Tuning</h2><p>{tuning.trials_evaluated} of {tuning.trials_requested} trials "
        f"({html.escape(tuning.sampler)}, objective {html.escape(tuning.objective)}), stopped by "
        f"{html.escape(tuning.stopped)}; best trial {tuning.best_trial}; {verdict}.</p>"
        f"<table>{head}{rows}</table>"
    )


def _verdict_html(report: Report) -> str:
    """Every output, its kind, metrics and limits; the one that decided the verdict in bold."""
    verdict = report.verdict
    how = (
        f"judged by rollout over {verdict.sequences} sequence(s), {verdict.steps} steps, each model carrying its "
        "own state (" + ", ".join(f"{a} → {b}" for a, b in verdict.state.items()) + ")"
        if verdict.judged_by == "rollout"
        else f"judged on {verdict.steps} samples"
    )
    head = "<tr><th>output</th><th>kind</th><th>metrics</th><th>limits</th><th>within</th></tr>"
    rows = []
    for output in report.optimized.per_output:
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in output.metrics.items() if v is not None)
        limits = ", ".join(f"{k} {v:g}" for k, v in output.limits.items())
        name = html.escape(output.name)
        name = f"<b>{name}</b>" if output.name == verdict.decided_by else name
        within = "ignored" if output.ignored else ("yes" if output.within else "<b>no</b>")
        cells = [name, html.escape(output.kind), html.escape(metrics), html.escape(limits), within]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        f"<h2>Verdict</h2><p>{'within' if verdict.within else '<b>outside</b>'} the quality limit; "
        f"decided by <code>{html.escape(str(verdict.decided_by))}</code>; {html.escape(how)}.</p>"
        f"<p>{html.escape(verdict.why)}</p><table>{head}{''.join(rows)}</table>"
    )


def write(report_data: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Validate the report, write report.json, report.html and the plots; return the artifact paths."""
    report = Report.model_validate(report_data)
    artifacts = {"report.json": out_dir / "report.json"}
    artifacts["report.json"].write_text(json.dumps(report.model_dump(mode="json"), indent=2))
    artifacts.update(_plots(report, out_dir))
    if report.tuning is not None:
        from worker.engine.tune.report import plots as tuning_plots

        artifacts.update(tuning_plots(report.tuning, out_dir))
    b, o = report.baseline, report.optimized
    interval = (
        "unchanged"
        if report.unchanged
        else f"95 % interval {report.speedup_interval.low:.2f}–{report.speedup_interval.high:.2f}"
    )
    rows = [
        _row("size (bytes)", b.size_bytes, o.size_bytes),
        _row("parameters", b.parameter_count, o.parameter_count),
        _row("latency p50 (ms)", f"{b.latency_ms_p50:.3f}", f"{o.latency_ms_p50:.3f}"),
        _row("latency p95 (ms)", f"{b.latency_ms_p95:.3f}", f"{o.latency_ms_p95:.3f}"),
        _row("throughput (/s)", f"{b.throughput_per_s:.1f}", f"{o.throughput_per_s:.1f}"),
    ]
    if b.accuracy and o.accuracy:
        rows.append(_row("top-1 accuracy", f"{b.accuracy.top1:.4f}", f"{o.accuracy.top1:.4f}"))
    if b.fidelity.cosine_mean is not None and o.fidelity.cosine_mean is not None:
        rows.append(_row("cosine to original (mean)", f"{b.fidelity.cosine_mean:.4f}", f"{o.fidelity.cosine_mean:.4f}"))
    floats = [item for p in report.passes for item in p.get("kept_in_float", [])]
    float_rows = "".join(f"<li><code>{html.escape(f['node'])}</code>: {html.escape(f['reason'])}</li>" for f in floats)
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
    images = "".join(f'<img src="{name}" alt="{name}">' for name in artifacts if name.endswith(".png"))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Slimline report</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}th{{text-align:left}}img{{margin:4px}}</style></head>
<body><h1>Slimline report</h1>
<p>speedup <b>{report.speedup:.2f}×</b> ({interval}), size ratio <b>{report.size_ratio:.2f}</b>,
goal met: <b>{report.goal_met}</b>
{"" if report.accuracy_drop is None else f", accuracy drop <b>{report.accuracy_drop * 100:.2f} points</b>"}</p>
<table><tr><th></th><th>baseline</th><th>optimized</th></tr>{"".join(rows)}</table>
{_verdict_html(report)}
<div>{images}</div>
<h2>Warnings</h2><ul>{warnings or "<li>none</li>"}</ul>
<h2>Ops left in float</h2><ul>{float_rows or "<li>none</li>"}</ul>
{_tuning_html(report)}
<h2>Environment</h2><pre>{html.escape(json.dumps(report.environment.model_dump(), indent=2))}</pre>
<h2>Passes</h2><pre>{html.escape(json.dumps(report.passes, indent=2))}</pre></body></html>"""
    artifacts["report.html"] = out_dir / "report.html"
    artifacts["report.html"].write_text(page)
    return artifacts
