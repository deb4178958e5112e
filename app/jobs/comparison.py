"""A multi-target job's comparison: each hardware class's verdict side by side, as JSON and as one HTML page
(a table and an inline SVG bar chart; nothing loaded from anywhere, like report.html).

Built on read from the parent's ``targets`` (their reports are in the job row), so it is always current:
a target still running shows as such.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from typing import Any

COMPARISON_JSON = "comparison.json"
COMPARISON_HTML = "comparison.html"
MEDIA_TYPES = {COMPARISON_JSON: "application/json", COMPARISON_HTML: "text/html"}


@dataclass(frozen=True)
class Document:
    name: str
    media_type: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def rows(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per target: where it ran and what it measured there."""
    out = []
    for target in targets:
        report = (target.get("result") or {}).get("report") or {}
        environment = report.get("environment") or {}
        baseline, optimized = report.get("baseline") or {}, report.get("optimized") or {}
        interval = report.get("speedup_interval") or {}
        out.append(
            {
                "hardware_class": target["hardware_class"],
                "job_id": target["job_id"],
                "status": target["status"],
                "error": target.get("error"),
                "cpu": environment.get("cpu"),
                "cpu_flags": environment.get("cpu_flags"),
                "providers": environment.get("providers"),
                "baseline_latency_ms_p50": baseline.get("latency_ms_p50"),
                "optimized_latency_ms_p50": optimized.get("latency_ms_p50"),
                "speedup": report.get("speedup"),
                "speedup_low": interval.get("low"),
                "speedup_high": interval.get("high"),
                "size_ratio": report.get("size_ratio"),
                "accuracy_drop": report.get("accuracy_drop"),
                "top1_agreement": (optimized.get("fidelity") or {}).get("top1_agreement"),
                "goal_met": report.get("goal_met"),
                "unchanged": report.get("unchanged"),
                "passes": [step.get("summary") or step.get("type") for step in report.get("passes") or []],
            }
        )
    return out


def documents(job_id: str, targets: list[dict[str, Any]]) -> dict[str, Document]:
    table = rows(targets)
    data = {"job_id": job_id, "targets": table}
    return {
        COMPARISON_JSON: Document(COMPARISON_JSON, "application/json", json.dumps(data, indent=2).encode()),
        COMPARISON_HTML: Document(COMPARISON_HTML, "text/html", render(job_id, table).encode()),
    }


def _fmt(value: Any, pattern: str = "{:.3g}") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return pattern.format(value)
    return str(value)


def _chart(table: list[dict[str, Any]]) -> str:
    """Horizontal bars: the speedup on each class, its interval as a whisker, 1× as a line."""
    measured = [row for row in table if row["speedup"] is not None]
    if not measured:
        return "<p>No target has finished yet.</p>"
    top = max(max(row["speedup_high"] or row["speedup"] for row in measured), 1.0) * 1.1
    bar_h, left, width = 28, 170, 420
    height = bar_h * len(measured) + 40
    x = lambda v: left + width * v / top  # noqa: E731 - a local scale
    parts = [
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
        'role="img" aria-label="speedup per hardware class">'
    ]
    for i, row in enumerate(measured):
        y = 10 + i * bar_h
        colour = "#1d6b2f" if row["goal_met"] else "#b52a26"
        name, end = html.escape(row["hardware_class"]), x(row["speedup"])
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13">{name}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{end - left:.1f}" height="{bar_h - 10}" fill="{colour}"/>'
            f'<text x="{end + 6:.1f}" y="{y + 17}" font-size="12">{row["speedup"]:.2f}×</text>'
        )
        if row["speedup_low"] is not None and row["speedup_high"] is not None:
            parts.append(
                f'<line x1="{x(row["speedup_low"]):.1f}" x2="{x(row["speedup_high"]):.1f}" y1="{y + 13}" '
                f'y2="{y + 13}" stroke="#000" stroke-width="1.5"/>'
            )
    one = x(1.0)
    parts.append(
        f'<line x1="{one:.1f}" x2="{one:.1f}" y1="5" y2="{height - 25}" stroke="#555" stroke-dasharray="4 3"/>'
        f'<text x="{one:.1f}" y="{height - 8}" text-anchor="middle" font-size="12">1× (unchanged speed)</text></svg>'
    )
    return "".join(parts)


COLUMNS = [
    ("hardware class", "hardware_class"),
    ("status", "status"),
    ("CPU", "cpu"),
    ("baseline p50 ms", "baseline_latency_ms_p50"),
    ("optimized p50 ms", "optimized_latency_ms_p50"),
    ("speedup", "speedup"),
    ("95% interval", None),
    ("size ratio", "size_ratio"),
    ("accuracy drop", "accuracy_drop"),
    ("top-1 agreement", "top1_agreement"),
    ("goal met", "goal_met"),
    ("providers", "providers"),
]


def render(job_id: str, table: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for title, _ in COLUMNS)
    body = []
    for row in table:
        cells = []
        for _, key in COLUMNS:
            if key is None:
                low, high = row["speedup_low"], row["speedup_high"]
                value = f"{low:.2f}–{high:.2f}×" if low is not None and high is not None else "–"
            elif key == "providers":
                value = ", ".join(row["providers"] or []) or "–"
            else:
                value = _fmt(row[key])
            if key == "status" and row["error"]:
                value += f" ({row['error']['code']}: {row['error']['message']})"
            cells.append(f"<td>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Slimline comparison {html.escape(job_id)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 9px;text-align:left}th{background:#f4f4f4}</style></head><body>"
        f"<h1>Job {html.escape(job_id)}: one run per hardware class</h1>"
        "<p>Each target ran the same recipe on a worker of its class and measured the input model and the "
        "optimized one there, in the same run; a verdict holds for its class only. Each target's full report is "
        "its own job's <code>report.html</code>.</p>"
        f"<h2>Speedup per class</h2>{_chart(table)}"
        f"<h2>Side by side</h2><table><tr>{head}</tr>{''.join(body)}</table></body></html>"
    )
