"""Transfer benchmark: probe vs fine-tune vs scratch on scikit-learn's digits, then the compressed result.

A small CNN (conv16-conv32-pool-fc64-fc5) is trained here on digits 0-4 (the "pretrained" source); the
engine (``worker.engine.optimize``, exactly as a job) teaches it digits 5-9 from N labelled images. Of the
897 images of digits 5-9, 297 are held out and never go into a job: the returned models are evaluated
on them outside. Each job's dataset is N training images (its calibration split) plus 300 more for the
job's own evaluation split, so every job judges on 300 samples whatever N is.

Rows:
  - hand-written baselines on the same N images: a linear probe (scikit-learn LogisticRegression on the
    frozen fc64 features) and a careful PyTorch fine-tune (new head, every layer, Adam 1e-3, 40 epochs,
    batch 32, best of 3 seeds on the held-out images: generous to it);
  - the transfer pass: `probe`, and `finetune` (epochs auto) with `compare_scratch: true`;
  - where transfer pays and where it does not: N = 15, 50 and 300 from the 0-4 source, N = 300 from a
    source trained on digits 0-1 only (poorer features), and N = 50 from a source trained on all ten digits
    (5-9 from images that neither this job nor the held-out set use: features that fit the target);
  - transfer + structured prune (30 %, recovery epochs auto) + quantize auto in one job: held-out
    accuracy, parameters, size, latency (the job's own measurement, batch 1).

    .venv/bin/python benchmarks/transfer.py [--threads 2] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.engine.prune_models import digits  # noqa: E402
from tests.engine.prune_models import small_cnn as net  # noqa: E402

HELD_OUT = 297
JOB_EVAL = 300


def train(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(xs), generator=generator).split(32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xs[batch]), ys[batch]).backward()
            optimizer.step()
    return model.eval()


def accuracy_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from worker.engine.output_metrics import class_report

    report = class_report(scores, labels)
    return report["accuracy"], report["f1_macro"]


def torch_scores(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def onnx_scores(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def source_model(work: Path, x: np.ndarray, y: np.ndarray, rows: np.ndarray, name: str) -> tuple[Any, Path]:
    """A CNN trained on ``rows`` (a boolean mask), as many outputs as classes there."""
    import torch

    from tests.factories import export_onnx

    model = train(net(int(y[rows].max()) + 1), x[rows], y[rows], epochs=10, lr=3e-3, seed=0)
    path = work / f"source-{name}.onnx"
    export_onnx(model, (torch.from_numpy(x[:2]),), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)
    return model, path


def calibration_rows(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """The job's calibration split, as worker/engine/data.py:split draws it (same seed, same formula)."""
    n_cal = max(1, min(n - 1, round(n * fraction)))
    return np.sort(np.random.default_rng(seed).permutation(n)[:n_cal])


def run_job(source: Path, data: Path, passes: list[dict[str, Any]], fraction: float, out: Path, threads: int) -> Any:
    from app.core.schemas.recipe import Recipe
    from worker.engine import optimize

    recipe = Recipe.model_validate({"passes": passes, "split": {"calibration_fraction": fraction}})
    started = time.perf_counter()
    result = optimize(source, data, recipe, out, threads=threads)
    return result, time.perf_counter() - started


def hand_written(source_net: Any, x: np.ndarray, y: np.ndarray, held: tuple[np.ndarray, np.ndarray]) -> dict:
    """A linear probe (scikit-learn) on frozen features, and a careful fine-tune (best of 3 seeds)."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from torch import nn

    body = copy.deepcopy(source_net)[:-1].eval()
    features = torch_scores(body, x)
    started = time.perf_counter()
    probe = LogisticRegression(max_iter=5000).fit(features, y)
    probe_s = time.perf_counter() - started
    probe_acc = accuracy_f1(probe.decision_function(torch_scores(body, held[0])), held[1])
    tunes = []
    for seed in range(3):
        model = copy.deepcopy(source_net)
        torch.manual_seed(seed)
        model[-1] = nn.Linear(64, 5)
        started = time.perf_counter()
        train(model, x, y, epochs=40, lr=1e-3, seed=seed)
        tunes.append((*accuracy_f1(torch_scores(model, held[0]), held[1]), time.perf_counter() - started))
    best = max(tunes)
    return {"probe": (*probe_acc, probe_s), "finetune": best, "finetune_seeds": [t[0] for t in tunes]}


def job_dataset(work: Path, x: np.ndarray, y: np.ndarray, pool: np.ndarray, n: int) -> tuple[Path, float, np.ndarray]:
    rows = pool[: n + JOB_EVAL]
    path = work / f"job-{n}.npz"
    np.savez(
        path, x=x[rows], labels=(y[rows] - 5).astype(np.int64), label_names=np.array([str(d) for d in range(5, 10)])
    )
    fraction = n / (n + JOB_EVAL)
    return path, fraction, rows[calibration_rows(len(rows), fraction)]


def lscpu() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("Flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return f"{model}; flags: {', '.join(wanted) or 'none of avx2/avx512f/avx512_vnni'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="append the markdown table to this file")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    x, y = digits()
    pool = np.flatnonzero(y >= 5)
    np.random.default_rng(0).shuffle(pool)
    held = (x[pool[-HELD_OUT:]], (y[pool[-HELD_OUT:]] - 5).astype(np.int64))
    pool = pool[:-HELD_OUT]
    rows: list[list[str]] = []
    numbers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="slimline-transfer-") as tmp:
        work = Path(tmp)
        net04, source04 = source_model(work, x, y, y < 5, "0-4")
        net01, source01 = source_model(work, x, y, y < 2, "0-1")
        # features that fit the target: digits 0-9, its 5-9 images those no job below uses (nor the held-out)
        unused = np.zeros(len(y), bool)
        unused[pool[50 + JOB_EVAL :]] = True
        net09, source09 = source_model(work, x, y, (y < 5) | unused, "0-9")
        for label, source_net, source, n in (
            ("0-4", net04, source04, 300),
            ("0-4", net04, source04, 50),
            ("0-4", net04, source04, 15),
            ("0-1", net01, source01, 300),
            ("0-9, other images of 5-9", net09, source09, 50),
        ):
            data, fraction, train_rows = job_dataset(work, x, y, pool, n)
            hand = hand_written(source_net, x[train_rows], (y[train_rows] - 5).astype(np.int64), held)
            result, seconds = run_job(
                source,
                data,
                [{"type": "transfer", "compare_scratch": True}],
                fraction,
                work / f"ft-{label}-{n}",
                args.threads,
            )
            entry = result.report["passes"][0]
            held_acc = accuracy_f1(onnx_scores(result.artifacts["model.onnx"], held[0]), held[1])
            probe_job, probe_s = run_job(
                source, data, [{"type": "transfer", "mode": "probe"}], fraction, work / f"pr-{label}-{n}", args.threads
            )
            probe_held = accuracy_f1(onnx_scores(probe_job.artifacts["model.onnx"], held[0]), held[1])
            m, t = entry["metrics"], entry["training"]
            case = f"source {label}, N={n}"
            rows += [
                [
                    case,
                    "hand-written linear probe (sklearn)",
                    f"{hand['probe'][0]:.1%}",
                    f"{hand['probe'][1]:.3f}",
                    "–",
                    f"{hand['probe'][2]:.1f}",
                ],
                [
                    case,
                    "hand-written fine-tune (best of 3 seeds: "
                    + ", ".join(f"{a:.1%}" for a in hand["finetune_seeds"])
                    + ")",
                    f"{hand['finetune'][0]:.1%}",
                    f"{hand['finetune'][1]:.3f}",
                    "–",
                    f"{hand['finetune'][2]:.1f}",
                ],
                [
                    case,
                    "transfer probe",
                    f"{probe_held[0]:.1%}",
                    f"{probe_held[1]:.3f}",
                    f"{probe_job.report['passes'][0]['metrics']['transferred']['accuracy']:.1%}",
                    f"{t['probe']['seconds']:.1f} (job {probe_s:.0f})",
                ],
                [
                    case,
                    f"transfer finetune (epochs auto: {t['finetune']['epochs_run']}, "
                    f"best {t['finetune']['best_epoch']})",
                    f"{held_acc[0]:.1%}",
                    f"{held_acc[1]:.3f}",
                    f"{m['transferred']['accuracy']:.1%}",
                    f"{t['finetune']['seconds']:.1f} (job {seconds:.0f})",
                ],
                [
                    case,
                    f"scratch, same architecture (epochs auto: {t['scratch']['epochs_run']})",
                    "–",
                    "–",
                    f"{m['scratch']['accuracy']:.1%} (F1 {m['scratch']['f1_macro']:.3f})",
                    f"{t['scratch']['seconds']:.1f}",
                ],
                [
                    case,
                    "**verdict**: " + entry["comparison"]["summary"],
                    "",
                    "",
                    f"winner: {entry['comparison']['winner']}",
                    "",
                ],
            ]
            numbers[case] = {
                "hand": hand,
                "held_finetune": held_acc,
                "held_probe": probe_held,
                "comparison": entry["comparison"],
            }
            print(json.dumps({case: numbers[case]}, default=str), flush=True)
        data, fraction, _ = job_dataset(work, x, y, pool, 300)
        passes = [
            {"type": "transfer"},
            {"type": "prune", "method": "structured", "sparsity": 0.3, "finetune": {}},
            {"type": "quantize", "mode": "auto"},
        ]
        result, seconds = run_job(source04, data, passes, fraction, work / "compressed", args.threads)
        report = result.report
        held_acc = accuracy_f1(onnx_scores(result.artifacts["model.onnx"], held[0]), held[1])
        base, opt = report["baseline"], report["optimized"]
        chosen = report["passes"][2].get("chosen") or "kept fp32: no int8 candidate measurably faster within the limit"
        compressed = [
            [
                "transferred (the job's baseline)",
                f"{base['accuracy']['top1']:.1%}",
                f"{base['parameter_count']:,}",
                f"{base['size_bytes']:,}",
                f"{base['latency_ms_p50']:.3f}",
            ],
            [
                f"+ prune 30 % + quantize auto ({chosen}); goal met: {report['goal_met']}",
                f"{opt['accuracy']['top1']:.1%} (held-out {held_acc[0]:.1%})",
                f"{opt['parameter_count']:,}",
                f"{opt['size_bytes']:,}",
                f"{opt['latency_ms_p50']:.3f} ({report['speedup']:.2f}×)",
            ],
        ]
        print(json.dumps({"compressed": compressed, "warnings": report["warnings"], "seconds": seconds}), flush=True)
    lines = [
        "",
        f"## Transfer: probe vs fine-tune vs scratch, digits 5-9 ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {lscpu()}. Command: `.venv/bin/python benchmarks/transfer.py --threads {args.threads}`.",
        f"Held-out: {HELD_OUT} images of digits 5-9 never sent to a job; each job's own evaluation split: {JOB_EVAL}.",
        "",
        "| case | model | held-out accuracy | held-out macro-F1 | in-job accuracy | training s |",
        "| --- | --- | --- | --- | --- | --- |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        "transfer + prune + quantize in one job (source 0-4, N=300):",
        "",
        "| model | accuracy (job's evaluation split) | parameters | size (bytes) | latency p50 ms, batch 1 |",
        "| --- | --- | --- | --- | --- |",
        *("| " + " | ".join(r) + " |" for r in compressed),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
