"""report.html stands alone: plots inline, tables, every applied limit with its measured value, a headline
with its interval that agrees with the table; built by the engine on small models."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.schemas.recipe import Recipe
from app.core.schemas.report import Report
from tests.engine.conftest import write_npz
from tests.engine.test_quantize import BUDGET_S
from worker.engine import optimize
from worker.engine import report as report_writer
from worker.engine.evaluate import Latency, Timings


class Page(HTMLParser):
    """The parts of report.html a reader sees: tables by id (rows of cell texts), figures, text by id."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.figures: dict[str, list[str]] = {}  # figure id -> the tags inside it
        self.texts: dict[str, str] = {}
        self.details_open: list[bool] = []
        self.pre_outside_details = 0
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._figure: str | None = None
        self._ids: list[tuple[str, str]] = []  # (tag, id) of open elements with an id
        self._depth = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table" and attr.get("id"):
            self._table = attr["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "figure":
            self._figure = attr.get("id") or "?"
            self.figures[self._figure] = []
        elif tag == "details":
            self.details_open.append("open" in attr)
        elif tag == "pre" and not self.details_open:
            self.pre_outside_details += 1
        if self._figure is not None:
            self.figures[self._figure].append(tag)
        if attr.get("id") and tag in ("p", "ul"):
            self._ids.append((tag, attr["id"] or ""))
            self.texts[attr["id"] or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None
        elif self._ids and tag == self._ids[-1][0]:
            self._ids.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for _, ident in self._ids:
            self.texts[ident] += data


def run(model: Path, data: Path, out: Path, recipe: dict[str, Any]):  # type: ignore[no-untyped-def]
    return optimize(model, data, Recipe.model_validate(recipe), out, threads=1, latency_budget_s=BUDGET_S)


def check_page(result: Any) -> tuple[Page, Report, str]:
    """What every report.html must be, whatever the job; returns the parsed page, the report and the text."""
    text = result.artifacts["report.html"].read_text()
    report = Report.model_validate(json.loads(result.artifacts["report.json"].read_text()))
    page = Page(text)
    # nothing outside the page: no <img> of a file, no external URL, no script
    assert "<img" not in text and "<script" not in text.lower() and "@import" not in text
    reference = r"""(?:src|href)\s*=\s*(?:"(?!#|data:)|'(?!#|data:)|(?!["'#]|data:))"""
    assert not re.search(reference, text), "a reference outside the page"
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", text)
    assert not re.search(r"<(?:link|iframe|object|embed)\b", text)
    # tables, and the raw JSON only collapsed
    assert {"summary", "limits", "outputs", "passes", "environment", "timing"} <= set(page.tables)
    assert page.details_open == [False] and page.pre_outside_details == 0
    environment = dict(row for row in page.tables["environment"] if len(row) == 2)
    assert environment["onnxruntime"] == report.environment.libraries["onnxruntime"]
    # every limit applied, on every judged output, with its measured value
    limit_rows = {(row[0].replace(" (decides)", ""), row[2]): row for row in page.tables["limits"][1:]}
    applied = [(o, metric) for o in report.optimized.per_output if not o.ignored for metric in o.limits]
    assert applied
    for output, metric in applied:
        row = limit_rows[(output.name, metric)]
        assert row[3] == f"{output.metrics[metric]:.6g}" and row[4].endswith(f"{output.limits[metric]:.6g}")
    # the headline: the speedup with its interval, the same numbers as the summary table
    headline = page.texts["headline"]
    interval = report.speedup_interval
    assert f"{report.speedup:.2f}× (95% interval {interval.low:.2f}–{interval.high:.2f})" in headline
    p50 = next(row for row in page.tables["summary"] if row[0] == "latency p50 (ms)")
    assert p50[1] == f"{report.baseline.latency_ms_p50:.3f}" and f"{report.speedup:.2f}×" in p50[3]
    # plots: inline SVG with drawn content, and the latency distribution over every timed run
    assert {"plot-latency", "plot-tradeoff"} <= set(page.figures), page.figures.keys()
    for tags in page.figures.values():
        assert tags[:2] == ["figure", "svg"] and "path" in tags and "text" in tags
    assert len(report.baseline.latency_ms_rounds or []) == report.timing.rounds
    return page, report, text


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32)
    return write_npz(tmp_path_factory.mktemp("report-data") / "images.npz", x=x, labels=rng.integers(0, 10, 32))


@pytest.fixture(scope="module")
def dynamic(built, images, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A dynamic-quantization job on the CNN with labels, run once for the tests that read its report."""
    out = tmp_path_factory.mktemp("report-dynamic")
    return run(built("cnn"), images, out, {"passes": [{"type": "quantize", "mode": "dynamic"}]})


def test_dynamic_quantization_with_labels(dynamic):
    page, report, _ = check_page(dynamic)
    assert ("logits", "accuracy_drop") in {(r[0].replace(" (decides)", ""), r[2]) for r in page.tables["limits"]}
    assert [row[0] for row in page.tables["candidates-1"][1:]] == ["dynamic int8 (per-channel) (chosen)"]
    summary = {row[0]: row for row in page.tables["summary"]}
    assert report.baseline.accuracy is not None
    assert summary["top-1 accuracy"][1] == f"{report.baseline.accuracy.top1:.4f}"


def test_static_quantization_without_labels_shows_the_agreement_limit(built, data, tmp_path):
    result = run(
        built("cnn"), data(x=(32, 1, 8, 8)), tmp_path / "out", {"passes": [{"type": "quantize", "mode": "static"}]}
    )
    page, report, text = check_page(result)
    # unlabelled data: the limit actually applied is top-1 agreement with the input, shown with its value
    row = next(r for r in page.tables["limits"] if r[2] == "top1_agreement")
    assert row[4] == "≥ 0.99" and float(row[3]) == pytest.approx(report.optimized.fidelity.top1_agreement, abs=1e-6)
    assert "top-1 agreement" in text.split('id="plot-tradeoff"')[1].split("</figure>")[0]


def test_tuning_puts_every_trial_on_the_jobs_baseline(built, images, tmp_path):
    recipe = {"passes": [{"type": "quantize", "mode": "static"}], "tune": {"max_accuracy_drop": 0.05, "trials": 3}}
    result = run(built("cnn"), images, tmp_path / "out", recipe)
    page, report, text = check_page(result)
    assert report.tuning is not None
    trials = page.tables["trials"][1:]
    assert [row[0].split()[0] for row in trials] == [str(t.number) for t in report.tuning.trials]
    assert "plot-sensitivity" in page.figures and "sensitivity" in page.tables
    assert "the job's one baseline" in text


def test_pruning_shows_per_layer_sparsity(built, images, tmp_path):
    recipe = {"passes": [{"type": "prune", "method": "unstructured", "sparsity": 0.5}]}
    result = run(built("cnn"), images, tmp_path / "out", recipe)
    page, report, _ = check_page(result)
    layers = page.tables["layers-1"][1:]
    assert [row[0] for row in layers] == [layer["node"] for layer in report.passes[0]["layers"]]
    assert "plot-sparsity-1" in page.figures


def test_a_faster_median_with_a_lower_throughput_is_a_mixed_headline(dynamic, tmp_path):
    """The issue's case: p50 faster, while throughput fell and p95 got worse; the headline must say so."""
    rng = np.random.default_rng(0)
    base = 1.0 + 0.02 * rng.standard_normal((12, 5))
    optimized = 0.7 + 0.02 * rng.standard_normal((12, 5))
    optimized[:, 0] = 3.0  # one slow run in every round: a lower median, a higher mean
    timings = Timings()
    for name, rounds in (("baseline", base), ("optimized", optimized)):
        timings[name] = Latency(
            float(np.percentile(rounds, 50)),
            float(np.percentile(rounds, 95)),
            1000.0 / rounds.mean(),
            rounds.size,
            rounds,
        )
    ratio = timings.speedup("baseline", "optimized")
    data_ = dict(dynamic.report)
    for name in ("baseline", "optimized"):
        latency = timings[name]
        data_[name] = {
            **data_[name],
            "latency_ms_p50": latency.p50_ms,
            "latency_ms_p95": latency.p95_ms,
            "throughput_per_s": latency.throughput_per_s,
            "latency_ms_rounds": latency.rounds.tolist(),
        }
    data_.update(
        speedup=ratio.value,
        speedup_interval={"low": ratio.low, "high": ratio.high, "confidence": 0.95},
        unchanged=False,
    )
    assert ratio.measurably_faster and timings["optimized"].throughput_per_s < timings["baseline"].throughput_per_s
    out = tmp_path / "again"
    out.mkdir()
    page = Page(report_writer.write(data_, out)["report.html"].read_text())
    headline = page.texts["headline"]
    assert headline.startswith("Mixed: speedup") and "but throughput" in headline
    assert f"{ratio.value:.2f}× (95% interval {ratio.low:.2f}–{ratio.high:.2f})" in headline
    notes = page.texts["headline-notes"]
    assert f"{timings['baseline'].throughput_per_s:,.1f}/s → {timings['optimized'].throughput_per_s:,.1f}/s" in notes
    assert "Latency and throughput disagree" in notes and "p95 latency rose" in notes
    throughput = next(row for row in page.tables["summary"] if row[0] == "throughput (/s)")
    assert throughput[3].startswith(
        f"{timings['optimized'].throughput_per_s / timings['baseline'].throughput_per_s:.2f}×"
    )


def test_a_report_written_before_the_timed_runs_were_kept_still_renders(dynamic, tmp_path):
    old = {**dynamic.report}
    for name in ("baseline", "optimized"):
        old[name] = {k: v for k, v in old[name].items() if k != "latency_ms_rounds"}
    page = Page(report_writer.write(old, tmp_path)["report.html"].read_text())
    assert "plot-latency" not in page.figures and "plot-tradeoff" in page.figures  # no runs, no distribution
    interval = dynamic.report["speedup_interval"]
    assert f"(95% interval {interval['low']:.2f}–{interval['high']:.2f})" in page.texts["headline"]


def test_node_names_are_printed_as_written_in_the_plots():
    from worker.engine import plots

    # exporters name nodes freely: a '$' would start matplotlib's math (and an unbalanced one fails the job)
    names = ["/blocks.0/attn$proj^{", "<script>alert(1)</script>", "x" * 80]
    plot = plots.horizontal_bars(
        [(name, 0.1 * i) for i, name in enumerate(names)],
        name="t.png",
        title="t",
        xlabel="x",
        caption="c",
        color="#000",
    )
    assert plot is not None and plot.png[:4] == b"\x89PNG"
    assert "/blocks.0/attn$proj^{" in plot.svg and "&lt;script&gt;" in plot.svg and "<script" not in plot.svg
    assert plots.short("x" * 80) in plot.svg and len(plots.short("x" * 80)) == plots.LABEL_CHARS
