"""report.json (validated against app.core.schemas.report.Report), report.html and its plots.

report.html stands alone: every plot is an inline SVG, every section a table, the raw JSON only in a
collapsed block, and nothing loads from anywhere (it opens from disk, and the API serves it under a CSP
that forbids any load but ``data:`` images). The headline says what the table says: the speedup of the
median run with its interval, and in words when throughput or p95 latency tell another story.
"""

from __future__ import annotations

import html
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from app.core.schemas.report import Report
from worker.engine import hardware, plots, preflight
from worker.engine.evaluate import BOOTSTRAP_RESAMPLES, CONFIDENCE, Ratio

LOWER_IS_BETTER = frozenset({"accuracy_drop", "normalized_rmse", "rmse", "max_abs_error", "perplexity_increase"})
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 9px;text-align:right;
vertical-align:top}th{text-align:left;background:#f4f4f4}td.text{text-align:left}.headline{font-size:1.15em}
.bad{color:#b52a26;font-weight:bold}.good{color:#1d6b2f}figure{margin:1em 0}figcaption{font-size:.9em;color:#555}
svg.plot{max-width:100%;height:auto}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
details{margin:1em 0}summary{cursor:pointer;font-weight:bold}code{font-size:.95em}"""


def environment(
    device: str, providers: list[str], threads: int, batch_size: int, runs: int, decision: preflight.Preflight
) -> dict[str, Any]:
    """The report's ``environment``: the machine, the libraries, and the pre-flight ``decision`` made for it."""
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
    return {
        "device": device,
        "providers": providers,
        "threads": threads,
        "batch_size": batch_size,
        "hardware_class": decision.hardware_class,
        "cpu": hardware.cpu_model(),
        "cpu_flags": hardware.int8_features(),  # what int8 speed and exactness depend on
        "preflight": decision.describe(),
        "latency_runs": runs,
        "libraries": libraries,
    }


# -- small HTML helpers ------------------------------------------------------------------------------------


def esc(value: Any) -> str:
    return html.escape(str(value))


def table(
    head: list[str] | None, rows: list[list[str]], *, table_id: str = "", text_columns: int = 1, text_last: bool = False
) -> str:
    """A table; cells are HTML already (escape them first); the first ``text_columns`` (and the last, with
    ``text_last``) align left, as words do; numbers align right."""
    ident = f' id="{table_id}"' if table_id else ""
    heading = "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" if head else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{c}</td>' if i < text_columns or (text_last and i == len(row) - 1) else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table{ident}>{heading}{body}</table>"


def num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def ratio_text(ratio: Ratio) -> str:
    return f"{ratio.value:.2f}× ({ratio.confidence:.0%} interval {ratio.low:.2f}–{ratio.high:.2f})"


def _yes(flag: bool | None, yes: str = "yes", no: str = "no") -> str:
    if flag is None:
        return "–"
    return f'<span class="good">{yes}</span>' if flag else f'<span class="bad">{no}</span>'


# -- what the numbers say -----------------------------------------------------------------------------------


def throughput_gain(report: Report) -> Ratio | None:
    """optimized / baseline throughput (= baseline mean run time / optimized mean run time), with a
    bootstrap interval over the same interleaved rounds as the speedup; None without the rounds."""
    if report.unchanged:
        return Ratio(1.0, 1.0, 1.0)
    base, cand = plots.rounds_of(report.baseline), plots.rounds_of(report.optimized)
    if base is None or cand is None:
        return None
    value = report.optimized.throughput_per_s / report.baseline.throughput_per_s
    count = min(len(base), len(cand))
    if count < 2:
        return Ratio(value, value, value)
    picks = np.random.default_rng(0).integers(0, count, size=(BOOTSTRAP_RESAMPLES, count))
    ratios = base[picks].reshape(BOOTSTRAP_RESAMPLES, -1).mean(axis=1) / cand[picks].reshape(
        BOOTSTRAP_RESAMPLES, -1
    ).mean(axis=1)
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Ratio(value, float(min(low, value)), float(max(high, value)))


def direction(ratio: Ratio) -> str:
    if ratio.measurably_faster:
        return "faster"
    return "slower" if ratio.measurably_slower else "no measurable difference"


def speedup_ratio(report: Report) -> Ratio:
    interval = report.speedup_interval
    return Ratio(report.speedup, interval.low, interval.high, interval.confidence)


def headline(report: Report) -> tuple[str, list[str]]:
    """The bold headline and the sentences under it; never a claim the table contradicts."""
    b, o = report.baseline, report.optimized
    batch = report.environment.batch_size
    speedup = speedup_ratio(report)
    if report.unchanged:
        return (
            f"The input comes back unchanged: speedup {ratio_text(speedup)}",
            ["Nothing measured better within the quality limit; the warnings below say why."],
        )
    gain = throughput_gain(report)
    latency_way = direction(speedup)
    transferred = report.baseline_model == "transferred"
    notes = (
        [
            "The model was taught the dataset's classes (transfer, below); the baseline here is the transferred "
            "model, and the speedup and quality limit compare the result with it."
        ]
        if transferred
        else []
    )
    notes += [
        f"Median (p50) latency at batch {batch}: {b.latency_ms_p50:.3f} ms → {o.latency_ms_p50:.3f} ms, "
        f"speedup {ratio_text(speedup)}: {latency_way}."
    ]
    p95_worse = o.latency_ms_p95 > b.latency_ms_p95
    throughput_fell = o.throughput_per_s < b.throughput_per_s
    throughput_way = direction(gain) if gain is not None else ("slower" if throughput_fell else "faster")
    gain_text = ratio_text(gain) if gain is not None else f"{o.throughput_per_s / b.throughput_per_s:.2f}×"
    notes.append(
        f"Throughput: {b.throughput_per_s:,.1f}/s → {o.throughput_per_s:,.1f}/s, {gain_text}; "
        f"p95 latency {b.latency_ms_p95:.3f} ms → {o.latency_ms_p95:.3f} ms."
    )
    throughput_up = (gain.value if gain is not None else o.throughput_per_s / b.throughput_per_s) > 1.0
    measurable = latency_way != "no measurable difference" or throughput_way != "no measurable difference"
    disagree = (speedup.value > 1.0) != throughput_up and measurable
    disagree = disagree or (speedup.measurably_faster and p95_worse)
    if disagree:
        title = (
            f"Mixed: speedup {ratio_text(speedup)} for the median run ({latency_way}), but throughput "
            f"{gain_text} ({throughput_way}) at batch {batch}"
        )
        slow = "and p95 latency rose" if p95_worse else "while p95 latency fell"
        notes.append(
            "Latency and throughput disagree: the speedup compares median runs, throughput counts every run "
            f"(batch / mean run time), {slow}. The result's typical run and its slow runs changed differently; "
            "see the latency distribution before relying on either number."
        )
    else:
        way = {"faster": "faster than the input", "slower": "slower than the input"}.get(latency_way, latency_way)
        title = f"Speedup {ratio_text(speedup)} at batch {batch}: {way}"
    return title, notes


# -- the page -------------------------------------------------------------------------------------------------


def _summary_table(report: Report) -> str:
    b, o = report.baseline, report.optimized
    speedup, gain = speedup_ratio(report), throughput_gain(report)
    rows = [
        ["size (bytes)", f"{b.size_bytes:,}", f"{o.size_bytes:,}", f"{report.size_ratio:.3f}× the size"],
        ["parameters", f"{b.parameter_count:,}", f"{o.parameter_count:,}", ""],
        ["sparsity (zero weights)", f"{b.sparsity:.3f}", f"{o.sparsity:.3f}", ""],
        ["latency p50 (ms)", f"{b.latency_ms_p50:.3f}", f"{o.latency_ms_p50:.3f}", f"speedup {ratio_text(speedup)}"],
        [
            "latency p95 (ms)",
            f"{b.latency_ms_p95:.3f}",
            f"{o.latency_ms_p95:.3f}",
            f"speedup {b.latency_ms_p95 / o.latency_ms_p95:.2f}×"
            + (" (worse)" if o.latency_ms_p95 > b.latency_ms_p95 else ""),
        ],
        [
            "throughput (/s)",
            f"{b.throughput_per_s:,.1f}",
            f"{o.throughput_per_s:,.1f}",
            ratio_text(gain) if gain is not None else f"{o.throughput_per_s / b.throughput_per_s:.2f}×",
        ],
    ]
    if b.accuracy and o.accuracy:
        drop = "" if report.accuracy_drop is None else f"drop {report.accuracy_drop * 100:.2f} points"
        rows.append(["top-1 accuracy", f"{b.accuracy.top1:.4f}", f"{o.accuracy.top1:.4f}", drop])
        rows.append(["macro F1", f"{b.accuracy.f1_macro:.4f}", f"{o.accuracy.f1_macro:.4f}", ""])
    if o.fidelity.top1_agreement is not None:
        rows.append(["top-1 agreement with the input", "1", f"{o.fidelity.top1_agreement:.4f}", ""])
    if o.fidelity.cosine_mean is not None:
        cos_min = "" if o.fidelity.cosine_min is None else f"min {o.fidelity.cosine_min:.4f}"
        rows.append(["cosine to the input (mean)", "1", f"{o.fidelity.cosine_mean:.4f}", cos_min])
    rows.append(["max abs error (first output)", "0", f"{o.fidelity.max_abs_error:.4g}", ""])
    cells = [[esc(c) for c in row] for row in rows]
    return table(["", "baseline", "optimized", "change"], cells, table_id="summary")


def _limits_html(report: Report) -> str:
    """Every limit applied, on every output, with its measured value: the verdict, line by line."""
    verdict = report.verdict
    how = (
        f"judged by rollout over {verdict.sequences} sequence(s), {verdict.steps} steps, each model carrying its "
        "own state (" + ", ".join(f"{a} → {b}" for a, b in verdict.state.items()) + ")"
        if verdict.judged_by == "rollout"
        else f"judged on {verdict.steps} evaluation samples"
    )
    rows = []
    for output in report.optimized.per_output:
        name = esc(output.name) + (" <b>(decides)</b>" if output.name == verdict.decided_by else "")
        if output.ignored:
            rows.append([name, esc(output.kind), "ignored", "–", "–", "–"])
            continue
        for metric, limit in output.limits.items():
            measured = output.metrics.get(metric)
            lower = metric in LOWER_IS_BETTER
            ok = None if measured is None else (measured <= limit if lower else measured >= limit)
            rows.append(
                [
                    name,
                    esc(output.kind),
                    esc(metric),
                    num(measured, 6),
                    ("≤ " if lower else "≥ ") + num(limit, 6),
                    _yes(ok),
                ]
            )
    limits = table(["output", "kind", "metric", "measured", "limit", "within"], rows, table_id="limits", text_columns=3)
    other = []
    for output in report.optimized.per_output:
        extra = ", ".join(f"{k} {num(v)}" for k, v in output.metrics.items() if k not in output.limits)
        other.append([esc(output.name), esc(output.kind), esc(extra or "–"), esc(output.why)])
    metrics = table(["output", "kind", "other metrics", "verdict"], other, table_id="outputs", text_columns=4)
    return (
        f"<h2>Quality limits</h2><p>{_yes(verdict.within, 'Within', 'Outside')} the quality limit on every judged "
        f"output; decided by <code>{esc(verdict.decided_by)}</code>; {esc(how)}. {esc(verdict.why)}</p>"
        f"{limits}<h3>Per-output metrics</h3>{metrics}"
    )


def _facts(effect: dict[str, Any] | None, key: str) -> str:
    if not effect:
        return "–"
    before, after = effect.get("input", {}).get(key), effect.get("output", {}).get(key)
    return "–" if before is None or after is None else f"{before:,} → {after:,}"


def _passes_html(report: Report) -> str:
    rows = []
    for index, summary in enumerate(report.passes):
        kind = summary.get("type", "?")
        how = summary.get("mode") or summary.get("method") or ""
        chosen = summary.get("chosen")
        speedup = summary.get("speedup")
        if speedup is None and summary.get("candidates"):
            row = next((r for r in summary["candidates"] if r["name"] == chosen), None)
            speedup = row["speedup"] if row else None
        interval = summary.get("speedup_interval")
        if speedup is None and kind == "tune":
            speedup, interval = summary["metrics"].get("speedup"), summary["metrics"].get("speedup_interval")
        speed = (
            "–"
            if speedup is None
            else f"{speedup:.2f}×" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")
        )
        effect = summary.get("effect") or {"input": summary.get("input"), "output": summary.get("output")}
        rows.append(
            [
                str(index + 1),
                esc(kind),
                esc(how),
                esc("trial " + str(chosen) if kind == "tune" else chosen or "–"),
                _facts(effect, "size_bytes"),
                _facts(effect, "parameter_count"),
                _facts(effect, "macs"),
                speed,
            ]
        )
    parts = [
        "<h2>Passes</h2>",
        table(
            [
                "#",
                "type",
                "mode / method",
                "chosen",
                "size (bytes)",
                "parameters",
                "MACs per sample",
                "speedup vs its input",
            ],
            rows,
            table_id="passes",
            text_columns=4,
        ),
    ]
    for index, summary in enumerate(report.passes):
        parts.append(_candidates_html(index, summary))
        parts.append(_layers_html(index, summary))
        parts.append(_training_html(index, summary))
    floats = [item for p in report.passes for item in p.get("kept_in_float", [])]
    if floats:
        parts.append("<h3>Ops left in float</h3>")
        parts.append(
            table(
                ["node", "reason"],
                [[f"<code>{esc(f['node'])}</code>", esc(f["reason"])] for f in floats],
                table_id="floats",
                text_columns=2,
            )
        )
    return "".join(parts)


def _candidates_html(index: int, summary: dict[str, Any]) -> str:
    candidates = summary.get("candidates")
    if not candidates:
        return ""
    rows = []
    for row in candidates:
        interval = row.get("speedup_interval")
        speed = "–" if row.get("speedup") is None else f"{row['speedup']:.2f}×"
        if interval:
            speed += f" [{interval[0]:.2f}, {interval[1]:.2f}]"
        chosen = row.get("chosen") or row["name"] == summary.get("chosen")
        rows.append(
            [
                esc(row["name"]) + (" <b>(chosen)</b>" if chosen else ""),
                f"{row['size_bytes']:,}",
                num(row.get("latency_ms_p50")),
                speed,
                _yes(row.get("within_limit")),
                esc(row.get("quality", "")),
            ]
        )
    head = [
        "candidate",
        "size (bytes)",
        "p50 (ms)",
        "speedup vs the pass's input [95 %]",
        "within the limit",
        "quality",
    ]
    return f"<h3>Pass {index + 1}: candidates</h3>" + table(
        head, rows, table_id=f"candidates-{index + 1}", text_last=True
    )


def _training_html(index: int, summary: dict[str, Any]) -> str:
    """How long a prune pass's recovery training ran and why it stopped (its curve is a plot)."""
    trained = summary.get("finetune")
    if summary.get("type") != "prune" or not isinstance(trained, dict) or not trained.get("curve"):
        return ""
    last = trained["curve"][-1]
    validation = trained.get("validation")
    return (
        f"<h3>Pass {index + 1}: recovery training</h3><p>{trained.get('epochs_run', len(trained['curve']))} "
        f"epochs (asked: {esc(str(trained.get('epochs')))}), weights of epoch {esc(str(trained.get('best_epoch')))} "
        f"kept; last training loss {last['train_loss']:.4f}. Stopped: {esc(trained.get('stop_reason') or '–')}."
        + (f" Validation: {esc(validation)}." if validation else "")
        + "</p>"
    )


def _layers_html(index: int, summary: dict[str, Any]) -> str:
    layers = summary.get("layers")
    if summary.get("type") != "prune" or not layers:
        return ""
    if "channels_before" in layers[0]:
        head = ["node", "op", "channels before", "channels after"]
        rows = [
            [
                f"<code>{esc(r['node'])}</code>",
                esc(r.get("op", "")),
                str(r["channels_before"]),
                str(r["channels_after"]),
            ]
            for r in layers
        ]
    else:
        head = ["node", "op", "sparsity before", "sparsity after"]
        rows = [
            [
                f"<code>{esc(r['node'])}</code>",
                esc(r.get("op", "")),
                num(r.get("sparsity_before")),
                num(r.get("sparsity")),
            ]
            for r in layers
        ]
    not_pruned = "".join(
        f"<li><code>{esc(n['node'])}</code>: {esc(n['reason'])}</li>" for n in summary.get("not_pruned", [])
    )
    rest = f"<p>Not pruned:</p><ul>{not_pruned}</ul>" if not_pruned else ""
    return (
        f"<h3>Pass {index + 1}: layers</h3>" + table(head, rows, table_id=f"layers-{index + 1}", text_columns=2) + rest
    )


def _ratio_cell(ratio: Any) -> str:
    if ratio is None:
        return "–"
    return f"{ratio.value:.2f}× [{ratio.low:.2f}, {ratio.high:.2f}]"


def _language_model_html(report: Report) -> str:
    """A token model's own numbers: next tokens, perplexity and greedy continuation; prefill and decode at batch
    1 (or latency per sequence length for an encoder)."""
    lm = report.language_model
    if lm is None:
        return ""
    vocab = "unknown" if lm.vocab_size is None else f"{lm.vocab_size:,}"
    cache = f", a KV cache ({lm.cache_pairs} tensors) decoded from an empty past" if lm.kv_cache else ""
    what = (
        f"A language model: <code>{esc(lm.input_ids)}</code> → <code>{esc(lm.logits)}</code>, {vocab} tokens{cache}."
        if lm.kind == "decoder"
        else f"A token encoder: <code>{esc(lm.input_ids)}</code> in, {vocab} tokens, no vocabulary output."
    )
    parts = [f"<h2>Language model</h2><p>{what}</p>"]
    if lm.kind == "decoder":
        judged = f"{lm.sequences} evaluation sequences of {lm.tokens_per_sequence} tokens"
        generated = (
            f"{lm.continuation_tokens} tokens generated greedily from {lm.prompts} prompts of {lm.prompt_length}"
            if lm.continuation_tokens and lm.prompts
            else "no greedy continuation"
        )
        increase = "–" if lm.perplexity_increase is None else f"{lm.perplexity_increase:+.2%}"
        rows = [
            ["next-token agreement", "1", num(lm.next_token_agreement), esc(judged)],
            [
                "perplexity (the dataset's next tokens)",
                num(lm.perplexity_baseline),
                num(lm.perplexity_optimized),
                increase,
            ],
            ["greedy continuation agreement", "1", num(lm.continuation_agreement), esc(generated)],
            ["continuation before the first difference", "1", num(lm.continuation_prefix_agreement), ""],
        ]
        b, o = lm.baseline_latency, lm.optimized_latency
        if b is not None and o is not None:
            how = "through the KV cache" if b.kv_cache else "re-running the growing sequence"
            rows += [
                [
                    f"prefill of {b.prompt_length} tokens, batch 1 (ms, p50)",
                    f"{b.prefill_ms_p50:.3f}",
                    f"{o.prefill_ms_p50:.3f}",
                    f"speedup {_ratio_cell(lm.prefill_speedup)}",
                ],
                [
                    f"decode, batch 1 (tokens/s; {b.decode_tokens} tokens {how})",
                    f"{b.decode_tokens_per_s:,.1f}",
                    f"{o.decode_tokens_per_s:,.1f}",
                    f"speedup {_ratio_cell(lm.decode_speedup)}",
                ],
            ]
        parts.append(table(["", "baseline", "optimized", ""], rows, table_id="language-model", text_last=True))
    if lm.encoder_latency:
        rows = [
            [str(r.sequence_length), f"{r.baseline_ms_p50:.3f}", f"{r.optimized_ms_p50:.3f}", _ratio_cell(r.speedup)]
            for r in lm.encoder_latency
        ]
        head = ["sequence length", "baseline p50 (ms)", "optimized p50 (ms)", "speedup [95 %]"]
        parts.append(table(head, rows, table_id="encoder-latency", text_columns=0))
    if lm.notes:
        parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in lm.notes) + "</ul>")
    return "".join(parts)


def _timing_html(report: Report) -> str:
    t = report.timing
    rows = [
        ["rounds × runs per round", f"{t.rounds} × {t.runs_per_round}"],
        ["noisy", _yes(not t.noisy, "no", "yes")],
        ["reasons", esc("; ".join(t.reasons) or "–")],
        ["CPU steal (%)", num(t.steal_percent, 3)],
        ["load average", num(t.load_average, 3)],
        ["CPUs", str(t.cpus)],
        ["widest interval (fraction of its ratio)", num(t.widest_interval, 3)],
    ]
    return "<h2>Timing</h2>" + table(None, rows, table_id="timing")


def _environment_html(report: Report) -> str:
    env = report.environment
    rows = [
        ["device", esc(env.device)],
        ["hardware class", esc(env.hardware_class or "not recorded")],
        ["providers", esc(", ".join(env.providers))],
        ["threads", str(env.threads)],
        ["batch size (timed)", str(env.batch_size)],
        ["CPU", esc(env.cpu)],
        ["CPU flags (int8)", esc(", ".join(env.cpu_flags) or "none recorded")],
        *[["pre-flight", esc(note)] for note in env.preflight.notes],
        *[["not measured", esc(f"{s.candidate}: {s.reason}")] for s in env.preflight.skipped],
        ["timed runs per model", str(env.latency_runs)],
        *[[esc(name), esc(version)] for name, version in sorted(env.libraries.items())],
    ]
    split = report.split
    data = [
        ["calibration samples", str(split.calibration_samples)],
        ["evaluation samples", str(split.evaluation_samples)],
        ["seed", str(split.seed)],
    ]
    if split.evaluation_sequences is not None:
        data.append(["evaluation sequences", str(split.evaluation_sequences)])
    return (
        "<h2>Environment</h2>"
        + table(None, rows, table_id="environment", text_columns=2)
        + "<h2>Data</h2>"
        + table(None, data, table_id="data")
    )


def render(report: Report, figures: list[plots.Plot]) -> str:
    """report.html: one page, nothing loaded from anywhere."""
    from worker.engine.task_report import task_html, transfer_html
    from worker.engine.tune.report import tuning_html

    title, notes = headline(report)
    quality = (
        f"{_yes(report.verdict.within, 'within', 'outside')} the quality limit ({esc(report.verdict.why)}); "
        f"size {report.size_ratio:.2f}× the input's; goal met: {_yes(report.goal_met)}"
    )
    if report.accuracy_drop is not None:
        quality += f"; accuracy drop {report.accuracy_drop * 100:.2f} points"
    figures_html = "".join(
        f'<figure id="plot-{esc(Path(p.name).stem)}">{p.svg}<figcaption>{esc(p.caption)}</figcaption></figure>'
        for p in figures
    )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in report.warnings)
    raw = esc(json.dumps(report.model_dump(mode="json"), indent=2))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slimline report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><h1>Slimline report</h1>
<p class="headline" id="headline"><b>{esc(title)}</b></p>
<ul id="headline-notes">{"".join(f"<li>{esc(n)}</li>" for n in notes)}</ul>
<p id="quality">{quality}.</p>
{_summary_table(report)}
<h2>Warnings</h2><ul id="warnings">{warnings or "<li>none</li>"}</ul>
{_limits_html(report)}
{_language_model_html(report)}
<h2>Plots</h2>{figures_html or "<p>No plot: nothing was timed.</p>"}
{transfer_html(report)}
{task_html(report)}
{_passes_html(report)}
{tuning_html(report)}
{_timing_html(report)}
{_environment_html(report)}
<details id="raw"><summary>Raw report.json</summary><pre>{raw}</pre></details>
</body></html>"""


def write(report_data: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Validate the report; write report.json, report.html (plots inline) and each plot as a PNG artifact."""
    report = Report.model_validate(report_data)
    artifacts = {"report.json": out_dir / "report.json"}
    artifacts["report.json"].write_text(json.dumps(report.model_dump(mode="json"), indent=2))
    figures = plots.for_report(report)
    for figure in figures:
        artifacts[figure.name] = out_dir / figure.name
        artifacts[figure.name].write_bytes(figure.png)
    artifacts["report.html"] = out_dir / "report.html"
    artifacts["report.html"].write_text(render(report, figures))
    return artifacts
