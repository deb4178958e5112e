"""The report's plots, drawn with matplotlib: each one an inline SVG for report.html and a PNG artifact.

The drawing functions take plain numbers; ``for_report`` picks them out of a report (one baseline per job:
every candidate and trial on the final comparison's baseline latency). Each returns a ``Plot`` or None
when there is nothing worth drawing. The SVG has no XML prolog, no metadata and no
reference outside itself, so report.html opens the same from disk, from the API and under a strict CSP.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from app.core.schemas.report import Report

BASE_COLOR, RESULT_COLOR, FAIL_COLOR, FRONT_COLOR = "#8a8a8a", "#2a7ae2", "#d9534f", "#222222"
LABEL_CHARS = 48  # node names longer than this are shortened in the middle, where they repeat least
MAX_BARS = 40


@dataclass(frozen=True)
class Plot:
    """One figure: its artifact name (``.png``), caption, the ``<svg>`` element and the PNG bytes."""

    name: str
    caption: str
    svg: str
    png: bytes


@dataclass(frozen=True)
class Point:
    """One model on the quality/latency plane: ``latency_ms`` on the job's baseline, ``quality`` in the
    plotted metric's units (higher is better unless the metric says otherwise)."""

    label: str
    latency_ms: float
    quality: float
    role: str  # baseline, candidate, trial, result
    within: bool


def short(name: str, limit: int = LABEL_CHARS) -> str:
    """``name`` cut in the middle to ``limit`` characters (both ends of a node name say the most)."""
    if len(name) <= limit:
        return name
    head = (limit - 1) // 2
    return name[:head] + "…" + name[-(limit - 1 - head) :]


def literal(text: str) -> str:
    """``text`` as matplotlib prints it: a ``$`` in a node name would otherwise start math (and can fail)."""
    return text.replace("$", r"\$")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _render(figure: Any, name: str, caption: str) -> Plot:
    plt = _pyplot()
    import matplotlib

    svg_buffer, png_buffer = io.StringIO(), io.BytesIO()
    figure.tight_layout()  # once, rather than a tight bounding box per format (each one draws the figure twice)
    # text stays text (small, selectable); ids are salted per plot so two inline SVGs never share one
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        figure.savefig(svg_buffer, format="svg", metadata={"Date": None})
    figure.savefig(png_buffer, format="png", dpi=100)
    plt.close(figure)
    svg = svg_buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(caption)}" class="plot" ', 1)
    return Plot(name, caption, svg, png_buffer.getvalue())


def latency_distribution(samples: dict[str, np.ndarray], batch_size: int) -> Plot | None:
    """Every timed run of each variant as a box (whiskers at p5/p95) with the rounds' medians as dots.

    ``samples`` maps a variant's name to its runs in ms, shaped [round, run] (the interleaved rounds).
    """
    named = [(name, np.asarray(runs, dtype=float)) for name, runs in samples.items() if np.size(runs)]
    if not named:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 1.1 + 0.75 * len(named)), dpi=100)
    positions = list(range(len(named), 0, -1))
    flat = [runs.ravel() for _, runs in named]
    boxes = axis.boxplot(
        flat,
        positions=positions,
        orientation="horizontal",
        whis=(5, 95),
        widths=0.5,
        showfliers=True,
        patch_artist=True,
    )
    colors = [BASE_COLOR] + [RESULT_COLOR] * (len(named) - 1)
    for patch, color in zip(boxes["boxes"], colors, strict=True):
        patch.set_facecolor(color)
        patch.set_alpha(0.35)
    for flier in boxes["fliers"]:
        flier.set_markersize(3)
    jitter = np.random.default_rng(0)
    for y, (_, runs), color in zip(positions, named, colors, strict=True):
        medians = np.median(runs.reshape(runs.shape[0], -1), axis=1)
        axis.scatter(medians, y + jitter.uniform(-0.12, 0.12, len(medians)), s=12, c=color, zorder=3)
        p50, p95 = np.percentile(runs, [50, 95])
        axis.annotate(f"p50 {p50:.3g} ms, p95 {p95:.3g} ms", (p50, y + 0.3), fontsize=8, ha="center")
    everything = np.concatenate(flat)
    right = float(np.percentile(everything, 99)) * 1.15
    beyond = int(np.sum(everything > right))
    axis.set_xlim(0.0, right)
    if beyond:
        axis.text(
            0.99,
            0.02,
            f"{beyond} slower run(s) off the chart",
            transform=axis.transAxes,
            fontsize=7,
            ha="right",
            va="bottom",
        )
    axis.set_yticks(positions, [name for name, _ in named])
    axis.set_ylim(0.4, len(named) + 0.75)
    axis.set_xlabel(f"latency per run at batch {batch_size} (ms)")
    axis.set_title("every timed run: box p25–p75, whiskers p5–p95, dots round medians", fontsize=9)
    axis.grid(axis="x", alpha=0.3)
    caption = "Latency distribution: every timed run of each model, timed side by side in interleaved rounds."
    return _render(figure, "latency.png", caption)


def pareto_front(points: Sequence[Point], higher_is_better: bool) -> list[Point]:
    """Points no other point beats on both latency (lower) and quality, fastest first."""
    sign = 1.0 if higher_is_better else -1.0

    def beats(q: Point, p: Point) -> bool:
        better_or_equal = q.latency_ms <= p.latency_ms and sign * q.quality >= sign * p.quality
        return better_or_equal and (q.latency_ms < p.latency_ms or sign * q.quality > sign * p.quality)

    front = [p for p in points if not any(beats(q, p) for q in points)]
    return sorted(front, key=lambda p: p.latency_ms)


def tradeoff(
    points: Sequence[Point],
    *,
    metric: str,
    higher_is_better: bool,
    limit: float | None,
    baseline_ms: float,
    name: str = "tradeoff.png",
) -> Plot | None:
    """Quality against latency for every candidate and trial, the Pareto front and the limit marked."""
    if len(points) < 2:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    styles: dict[str, dict[str, Any]] = {
        "baseline": {"marker": "s", "s": 60, "label": "the input (baseline)"},
        "candidate": {"marker": "o", "s": 34, "label": "candidate"},
        "trial": {"marker": "o", "s": 26, "label": "trial"},
        "result": {"marker": "*", "s": 180, "label": "the result (final comparison)"},
    }
    for role, style in styles.items():
        for within in (True, False):
            chosen = [p for p in points if p.role == role and p.within == within]
            if not chosen:
                continue
            color = BASE_COLOR if role == "baseline" else (RESULT_COLOR if within else FAIL_COLOR)
            label = style["label"] + ("" if role in ("baseline", "result") or within else ", breaks the limit")
            axis.scatter(
                [p.latency_ms for p in chosen],
                [p.quality for p in chosen],
                marker=style["marker"],
                s=style["s"],
                c=color,
                alpha=0.85,
                edgecolors="black" if role == "result" else "none",
                label=label,
                zorder=4 if role == "result" else 3,
            )
    front = pareto_front(points, higher_is_better)
    axis.step(
        [p.latency_ms for p in front],
        [p.quality for p in front],
        where="post",
        color=FRONT_COLOR,
        lw=1,
        ls="--",
        label="Pareto front",
        zorder=2,
    )
    axis.scatter(
        [p.latency_ms for p in front],
        [p.quality for p in front],
        s=110,
        facecolors="none",
        edgecolors=FRONT_COLOR,
        zorder=2,
    )
    for point in points:
        if point.role in ("candidate", "result") or (point.role == "trial" and point in front):
            axis.annotate(
                literal(short(point.label, 24)),
                (point.latency_ms, point.quality),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
    if limit is not None:
        axis.axhline(limit, color=FAIL_COLOR, lw=1, ls=":", label=f"quality limit ({limit:.4g})")
    axis.axvline(baseline_ms, color=BASE_COLOR, lw=1, ls=":")
    axis.set_xlabel("p50 latency (ms) on the job's baseline: baseline p50 / measured speedup")
    axis.set_ylabel(metric + ("" if higher_is_better else " (lower is better)"))
    axis.set_title("quality against latency, every model measured in this job", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    caption = (
        f"{metric} against p50 latency for the input, every candidate and trial, and the result; "
        "ringed points are the Pareto front (nothing else is both faster and better)."
    )
    return _render(figure, name, caption)


def horizontal_bars(
    rows: Sequence[tuple[str, float]], *, name: str, title: str, xlabel: str, caption: str, color: str
) -> Plot | None:
    """One bar per row, labels readable (shortened in the middle), in the order given (the first on top)."""
    if not rows:
        return None
    rows = list(rows)[:MAX_BARS]
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7.2, 0.28 * len(rows) + 1.3), dpi=100)
    labels = [literal(short(label)) for label, _ in rows]
    values = [value for _, value in rows]
    positions = list(range(len(rows), 0, -1))
    bars = axis.barh(positions, values, color=color)
    axis.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
    axis.set_yticks(positions, labels, fontsize=8)
    axis.set_xlabel(xlabel)
    axis.set_title(literal(title), fontsize=9)
    axis.margins(x=0.12)
    axis.grid(axis="x", alpha=0.3)
    return _render(figure, name, caption)


# -- what each plot shows, picked out of a report ----------------------------------------------------------


def rounds_of(measurement: Any) -> np.ndarray | None:
    """A measurement's timed runs in ms, [round, run]; None for a report written before they were kept."""
    runs = measurement.latency_ms_rounds
    return None if not runs else np.asarray(runs, dtype=float)


# -- the quality axis of the trade-off plot -----------------------------------------------------------------


@dataclass(frozen=True)
class QualityAxis:
    """The metric plotted against latency: the limit's own metric on the first judged output."""

    key: str  # accuracy | top1_agreement | cosine_mean | limit_gap
    label: str
    higher_is_better: bool
    limit: float | None
    base_top1: float | None = None

    def of_fidelity(self, accuracy: dict[str, Any] | None, fidelity: dict[str, Any] | None) -> float | None:
        if self.key == "accuracy":
            return None if not accuracy else float(accuracy["top1"])
        if self.key in ("top1_agreement", "cosine_mean"):
            return None if not fidelity or fidelity.get(self.key) is None else float(fidelity[self.key])
        return None

    def of_trial(self, metrics: dict[str, Any]) -> float | None:
        if self.key == "accuracy":
            drop = metrics.get("accuracy_drop")
            return None if drop is None or self.base_top1 is None else self.base_top1 - float(drop)
        value = metrics.get(self.key)
        return None if value is None else float(value)


def quality_axis(report: Report) -> QualityAxis:
    judged = [o for o in report.optimized.per_output if not o.ignored]
    first = judged[0] if judged else None
    limits = first.limits if first else {}
    b, o = report.baseline, report.optimized
    labelled = next((out for out in judged if "accuracy_drop" in out.limits), None)
    if b.accuracy and o.accuracy and labelled is not None:
        allowed = labelled.limits["accuracy_drop"]
        return QualityAxis("accuracy", "top-1 accuracy", True, b.accuracy.top1 - allowed, b.accuracy.top1)
    if o.fidelity.top1_agreement is not None:
        return QualityAxis("top1_agreement", "top-1 agreement with the input", True, limits.get("top1_agreement"))
    if o.fidelity.cosine_mean is not None:
        return QualityAxis("cosine_mean", "cosine similarity to the input (mean)", True, limits.get("cosine_mean"))
    return QualityAxis("limit_gap", "distance beyond the quality limit (≤ 0: within)", False, 0.0)


def _worst_gap(measurement: Any) -> float | None:
    gaps = [o.gap for o in measurement.per_output if not o.ignored]
    return max(gaps) if gaps else None


def tradeoff_points(report: Report, axis: QualityAxis) -> list[Point]:
    """The input, every pass's candidates, every tuning trial and the result, on the job's baseline latency.

    A candidate's speedup was measured side by side with its own input; chaining the passes' speedups puts
    every candidate on one scale: the baseline p50 of the final comparison (one baseline per job).
    """
    from worker.engine.tune.report import trial_points

    b, o = report.baseline, report.optimized
    base_ms = b.latency_ms_p50

    def value(accuracy: Any, fidelity: Any, measurement: Any) -> float | None:
        if axis.key == "limit_gap":
            return _worst_gap(measurement)
        if axis.key in ("top1_agreement", "cosine_mean") and measurement is b:
            return 1.0  # the input agrees with itself
        return axis.of_fidelity(accuracy, fidelity)

    points = []
    base_value = value(b.accuracy.model_dump() if b.accuracy else None, b.fidelity.model_dump(), b)
    if base_value is not None:
        points.append(Point("input", base_ms, base_value, "baseline", True))
    scale = base_ms  # the latency of the current pass's input, on the job's baseline
    for index, summary in enumerate(report.passes):
        chosen_speedup = summary.get("speedup") if summary.get("type") == "prune" else None
        for row in summary.get("candidates") or []:
            if not row.get("speedup"):
                continue
            quality = axis.of_fidelity(row.get("accuracy"), row.get("fidelity"))
            if quality is not None:
                label = f"{index + 1}: {row['name']}"
                points.append(Point(label, scale / row["speedup"], quality, "candidate", bool(row["within_limit"])))
            if row.get("chosen") or row["name"] == summary.get("chosen"):
                chosen_speedup = row["speedup"]
        if chosen_speedup:
            scale = scale / float(chosen_speedup)
    if report.tuning is not None:
        points.extend(trial_points(report.tuning, axis, base_ms))
    result_value = value(o.accuracy.model_dump() if o.accuracy else None, o.fidelity.model_dump(), o)
    if result_value is not None and not report.unchanged:
        points.append(Point("result", o.latency_ms_p50, result_value, "result", report.verdict.within))
    return points


def for_report(report: Report) -> list[Plot]:
    """Every plot the report has data for: latency distribution, quality vs latency, sensitivity, sparsity."""
    from worker.engine.tune.report import sensitivity_plot

    made: list[Plot | None] = []
    base, result = rounds_of(report.baseline), rounds_of(report.optimized)
    if base is not None:
        samples = (
            {"input (baseline)": base}
            if report.unchanged or result is None
            else {
                "input (baseline)": base,
                "optimized": result,
            }
        )
        made.append(latency_distribution(samples, report.environment.batch_size))
    axis = quality_axis(report)
    made.append(
        tradeoff(
            tradeoff_points(report, axis),
            metric=axis.label,
            higher_is_better=axis.higher_is_better,
            limit=axis.limit,
            baseline_ms=report.baseline.latency_ms_p50,
        )
    )
    if report.tuning is not None:
        made.append(sensitivity_plot(report.tuning))
    for index, summary in enumerate(report.passes):
        made.append(sparsity_plot(index, summary))
        made.extend(training_curve(index, label, trained) for label, trained in training_runs(summary))
    if report.task_metrics is not None and report.task_metrics.optimized.confusion:
        made.append(confusion_matrix(report.task_metrics.optimized.confusion, report.task_metrics.label_names))
    return [p for p in made if p is not None]


def confusion_matrix(confusion: list[list[int]], label_names: list[str] | None) -> Plot | None:
    """The optimized model's confusion matrix on the evaluation split, each row normalised to its class's samples
    (the counts are written in the cells): which classes it mixes up."""
    counts = np.asarray(confusion, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        return None
    classes = counts.shape[0]
    names = [short(str(n), 12) for n in (label_names or [])][:classes]
    names += [str(i) for i in range(len(names), classes)]
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    plt = _pyplot()
    side = min(9.0, 2.2 + 0.45 * classes)
    figure, axis = plt.subplots(figsize=(side, side * 0.85), dpi=100)
    image = axis.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    if classes <= 20:
        for row in range(classes):
            for column in range(classes):
                if counts[row, column]:
                    colour = "white" if rates[row, column] > 0.5 else "black"
                    axis.text(column, row, f"{int(counts[row, column])}", ha="center", va="center", fontsize=7,
                              color=colour)  # fmt: skip
    ticks = range(classes)
    axis.set_xticks(ticks, [literal(n) for n in names], rotation=90 if classes > 8 else 0, fontsize=7)
    axis.set_yticks(ticks, [literal(n) for n in names], fontsize=7)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the class's samples")
    caption = (
        "Confusion matrix of the optimized model on the evaluation split: rows are the true classes, "
        "columns the predictions; the counts are in the cells."
    )
    return _render(figure, "confusion.png", caption)


def training_runs(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, details) of every training a pass recorded per epoch: ``finetune`` of a prune pass, each of
    ``training`` (probe, finetune, scratch) of a transfer pass, or any other block that carries a ``curve``."""
    runs: list[tuple[str, dict[str, Any]]] = []
    for key, value in summary.items():
        if not isinstance(value, dict):
            continue
        if value.get("curve"):
            runs.append((key, value))
        else:
            runs.extend((f"{key} {inner}", v) for inner, v in value.items() if isinstance(v, dict) and v.get("curve"))
    return runs


def training_curve(index: int, label: str, trained: dict[str, Any]) -> Plot | None:
    """Training loss and the validation number per epoch, the kept (best) epoch marked; the stop reason below."""
    curve = trained.get("curve") or []
    if not curve:
        return None
    plt = _pyplot()
    figure, loss_axis = plt.subplots(figsize=(7.2, 3.2), dpi=100)
    epochs = [row["epoch"] for row in curve]
    loss_axis.plot(epochs, [row["train_loss"] for row in curve], color="#4c72b0", marker=".", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="#4c72b0")
    validation = [(row["epoch"], row.get("validation_metric")) for row in curve]
    validation = [(e, v) for e, v in validation if v is not None]
    if validation:
        metric_axis = loss_axis.twinx()
        metric_axis.plot(*zip(*validation, strict=True), color="#dd8452", marker=".", label="validation")
        metric_axis.set_ylabel("validation (accuracy or agreement)", color="#dd8452")
    best = trained.get("best_epoch")
    if best is not None and trained.get("stop") != "fixed":
        loss_axis.axvline(best, color="#55a868", linestyle="--", linewidth=1)
        loss_axis.annotate(f"kept: epoch {best}", (best, 0.95), xycoords=("data", "axes fraction"), fontsize=7)
    loss_axis.grid(alpha=0.3)
    stop = trained.get("stop_reason") or ""
    loss_axis.set_title(literal(f"pass {index + 1}: {label}, {len(curve)} epochs"), fontsize=9)
    name = f"training-{index + 1}-{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')}.png"
    caption = f"Pass {index + 1} ({label}): training loss and validation per epoch. Stopped: {stop}."
    return _render(figure, name, caption)


def sparsity_plot(index: int, summary: dict[str, Any]) -> Plot | None:
    """Per-layer sparsity of a prune pass: the zero fraction (unstructured) or channels removed (structured)."""
    if summary.get("type") != "prune" or not summary.get("layers"):
        return None
    rows = []
    for layer in summary["layers"]:
        label = f"{layer['node']} ({layer.get('op', '?')})"
        if "channels_before" in layer:
            before = max(1, int(layer["channels_before"]))
            rows.append((label, 1.0 - int(layer["channels_after"]) / before))
        elif "sparsity" in layer:
            rows.append((label, float(layer["sparsity"])))
    structured = summary.get("method") != "unstructured"
    what = "channels removed (fraction)" if structured else "weights set to zero (fraction)"
    return horizontal_bars(
        rows,
        name=f"sparsity-{index + 1}.png",
        title=f"pass {index + 1}: prune ({summary.get('method')}, sparsity {summary.get('sparsity')}), per layer",
        xlabel=what,
        caption=f"Per-layer sparsity of pass {index + 1} (prune, {summary.get('method')}): {what}, graph order.",
        color="#6a9f58",
    )
