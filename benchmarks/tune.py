"""Tuning benchmark: `quantize` with defaults (mode auto) vs `tune` (max_accuracy_drop 0.01, 20 trials).

One process, one machine. Models (built or shipped as in benchmarks/quantize.py):
  - cnn-digits: a CNN trained here on scikit-learn's digits, accuracy
  - transformer-digits: a small transformer encoder trained here on the same data, accuracy
  - ocr-cls (pretrained, opset 11): rapidocr-onnxruntime's text-direction classifier, fidelity (no labels)
Each recipe runs as a full engine job (its own baseline, its own final comparison). Then the two
results and the fp32 input are timed head to head in the same interleaved rounds.

    .venv/bin/pip install rapidocr-onnxruntime==1.4.4 --no-deps   # only for its model files
    .venv/bin/python benchmarks/tune.py [--threads 1] [--trials 20] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.core.schemas.recipe import Recipe  # noqa: E402
from benchmarks.quantize import cpu_model, digit_models, ocr_models  # noqa: E402
from worker.engine import evaluate, modelio, optimize  # noqa: E402


def quality(report: dict[str, Any]) -> str:
    optimized = report["optimized"]
    if optimized["accuracy"] is not None:
        return f"acc {report['baseline']['accuracy']['top1'] * 100:.2f}% → {optimized['accuracy']['top1'] * 100:.2f}%"
    return f"top-1 agr {optimized['fidelity']['top1_agreement']:.3f}, cos {optimized['fidelity']['cosine_mean']:.4f}"


def chosen(report: dict[str, Any]) -> str:
    summary = report["passes"][0]
    if report["unchanged"]:
        return "input unchanged"
    if summary["type"] == "tune":
        params = ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in summary["params"].items())
        return f"trial {summary['chosen']}: {params}"
    return str(summary.get("chosen"))


def benchmark(name: str, source: Path, data: dict[str, np.ndarray], work: Path, threads: int, trials: int) -> list[str]:
    npz = work / "data.npz"
    np.savez(npz, **data)
    recipes = {
        "quantize defaults": Recipe(),
        f"tune (≤1 point, {trials} trials)": Recipe.model_validate(
            {"tune": {"max_accuracy_drop": 0.01, "trials": trials}}
        ),
    }
    results: dict[str, tuple[Path, dict[str, Any], float]] = {}
    for label, recipe in recipes.items():
        out = work / label.split()[0]
        started = time.perf_counter()
        result = optimize(source, npz, recipe, out, threads=threads)
        results[label] = (result.artifacts["model.onnx"], result.report, time.perf_counter() - started)
        print(f"  {label}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    sessions = {"fp32": modelio.session(source, device="cpu", threads=threads)}
    sessions.update(
        {label: modelio.session(path, device="cpu", threads=threads) for label, (path, _, _) in results.items()}
    )
    head_to_head = evaluate.measure_latency(sessions, {"x": data["x"][:1]}, 1, budget_s=6.0)
    base = head_to_head["fp32"].p50_ms
    rows = []
    for label, (_, report, seconds) in results.items():
        tuning = report.get("tuning") or {}
        goal = "yes" if report["goal_met"] else f"no ({tuning.get('shortfall') or 'see warnings'})"
        trials_note = (
            f"{tuning['trials_evaluated']} trials, stopped by {tuning['stopped']}"
            if tuning
            else f"candidates: {len(report['passes'][0].get('candidates', []))}"
        )
        rows.append(
            f"| {name} | {label} | {chosen(report)} | {report['speedup']:.2f}× | "
            f"{base / head_to_head[label].p50_ms:.2f}× | {report['optimized']['size_bytes'] / 1e6:.2f} MB | "
            f"{quality(report)} | {goal} | {seconds:.0f} s ({trials_note}) |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="Append the table to this Markdown file.")
    args = parser.parse_args()
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slimline-tune-bench-") as tmp:
        work = Path(tmp)
        models = [m for m in digit_models(work) if m[0] in ("cnn-digits", "transformer-digits")]
        models += [m for m in ocr_models(work) if m[0].startswith("ocr-cls")]
        for index, (name, path, data) in enumerate(models):
            folder = work / f"m{index}"
            folder.mkdir()
            print(f"benchmarking {name}", file=sys.stderr)
            rows.extend(benchmark(name, path, data, folder, args.threads, args.trials))
    cpu = cpu_model()
    import onnxruntime
    import optuna

    header = (
        f"### Tuning, {datetime.now(UTC):%Y-%m-%d}: {cpu}, {os.cpu_count()} cores (shared with other work while "
        f"this ran), onnxruntime {onnxruntime.__version__}, optuna {optuna.__version__}, {args.threads} thread(s)\n\n"
        f"`python benchmarks/tune.py --threads {args.threads} --trials {args.trials}`. *job speedup*: the job's own "
        "final comparison against its input (what its report says); *head to head*: both results and the fp32 "
        "input timed again together in interleaved rounds at batch 1. Quality is the job's evaluation split "
        "(accuracy with labels; fidelity to fp32 for the pretrained OCR model, limit top-1 agreement ≥ 0.99).\n\n"
        "| model | recipe | chosen | job speedup | head to head | size | quality | goal met | time |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    table = header + "\n".join(rows) + "\n"
    print(table)
    if args.out:
        with args.out.open("a") as handle:
            handle.write("\n" + table)


if __name__ == "__main__":
    main()
