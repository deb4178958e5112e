"""Recovery training that sizes itself: a 50 % structured prune with ``finetune: {distill: true}`` and no epochs.

The model is the small digits CNN of the tests (tests/engine/prune_models.py: conv 16 - conv 32 - linear),
trained here on the samples the job will calibrate on, so the evaluation split is unseen by the original
and the pruned model alike. Each job's dataset puts the training samples exactly where the job's seeded
split puts its calibration samples and held-out digits where it puts its evaluation samples.

Rows: with ~1,500 training samples, fixed 3 and 30 epochs and ``epochs: auto``; with 500 training samples
(the same original model), ``epochs: auto`` and fixed 100 epochs (how far any length of training gets).

    .venv/bin/python benchmarks/recovery.py [--threads 2] [--out benchmarks/RESULTS.md] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
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
from tests.engine import prune_models  # noqa: E402
from worker.engine import optimize  # noqa: E402
from worker.engine.data import Dataset, split  # noqa: E402

SEED = 0
HELD_OUT = 297  # digits never trained on by anyone: the evaluation split of every job


def job_dataset(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> tuple[dict[str, np.ndarray], float]:
    """Arrays laid out so the job's split (seed 0) calibrates on exactly the training samples."""
    total = len(x_train) + len(x_test)
    fraction = len(x_train) / total
    placeholder = Dataset({}, {}, None, total)
    parts = split(placeholder, calibration_fraction=fraction, seed=SEED, max_eval_samples=total)
    assert len(parts.calibration) == len(x_train), (len(parts.calibration), len(x_train))
    x = np.empty((total, *x_train.shape[1:]), np.float32)
    y = np.empty(total, np.int64)
    x[parts.calibration], y[parts.calibration] = x_train, y_train
    x[parts.evaluation], y[parts.evaluation] = x_test, y_test
    return {"x": x, "labels": y}, fraction


def build_model(kind: str, path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """``small``: the tests' digits CNN (conv 16 - conv 32 - linear); ``deeper``: conv 32 - conv 64 - conv 64 -
    linear 128 - linear 10, trained on ``x`` (Adam, 20 epochs), so a 50 % prune removes more than 500 samples
    can teach back."""
    if kind == "small":
        return prune_models.trained_digits_cnn(path, x, y, epochs=15)
    import torch
    from torch import nn

    from tests.factories import export_onnx

    torch.manual_seed(SEED)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 2 * 2, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(20):
        for batch in torch.randperm(len(xs), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(xs[batch]), ys[batch]).backward()
            optimizer.step()
    net.eval()
    return export_onnx(net, (xs[:2],), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)


def run_job(
    model: Path, data: Path, fraction: float, finetune: dict[str, Any], out: Path, threads: int, sparsity: float
) -> dict:
    recipe = Recipe.model_validate(
        {
            "passes": [{"type": "prune", "method": "structured", "sparsity": sparsity, "finetune": finetune}],
            "split": {"calibration_fraction": fraction, "seed": SEED},
        }
    )
    started = time.perf_counter()
    result = optimize(model, data, recipe, out, threads=threads, latency_budget_s=0.5)
    report = result.report
    details = report["passes"][0]["finetune"]
    return {
        "original": report["baseline"]["accuracy"]["top1"],
        "pruned": report["optimized"]["accuracy"]["top1"],
        "epochs_run": details["epochs_run"],
        "best_epoch": details["best_epoch"],
        "stop": details["stop"],
        "stop_reason": details["stop_reason"],
        "warnings": report["warnings"],
        "train_s": details["seconds"],
        "job_s": time.perf_counter() - started,
        "goal_met": report["goal_met"],
    }


def machine() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("Flags")), [])
    relevant = [f for f in flags if f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")]
    return f"{name}; flags {' '.join(relevant) or 'none of avx2/avx512/vnni/amx'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="only the two epochs: auto jobs")
    parser.add_argument("--small-sparsity", type=float, nargs="+", default=[0.5, 0.8], help="sparsities at 500")
    parser.add_argument("--model", choices=("deeper", "small"), default="deeper")
    args = parser.parse_args()
    x, y = prune_models.digits()
    order = np.random.default_rng(SEED).permutation(len(x))
    test, train = order[:HELD_OUT], order[HELD_OUT:]  # 297 held out, 1,500 to train on
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = build_model(args.model, work / "digits.onnx", x[train], y[train])
        plans: list[tuple[int, float, dict[str, Any], str]] = [(1500, 0.5, {"distill": True}, "auto")]
        if not args.quick:
            plans += [(1500, 0.5, {"distill": True, "epochs": 3}, "3 epochs")]
            plans += [(1500, 0.5, {"distill": True, "epochs": 30}, "30 epochs")]
        plans += [(500, sparsity, {"distill": True}, "auto") for sparsity in args.small_sparsity]
        if not args.quick:
            plans += [(500, args.small_sparsity[-1], {"distill": True, "epochs": 100}, "100 epochs")]
        for count, sparsity, finetune, label in plans:
            chosen = train[:count]
            arrays, fraction = job_dataset(x[chosen], y[chosen], x[test], y[test])
            data = work / f"digits-{count}.npz"
            np.savez(data, **arrays)
            out = work / f"{count}-{sparsity}-{label}"
            row = run_job(model, data, fraction, finetune, out, args.threads, sparsity)
            samples = f"{count} samples, sparsity {sparsity},"
            rows.append((f"{samples} {label}", row))
            print(f"{samples} {label}: {row}", flush=True)
    table = [
        "| training samples, epochs | original top-1 | pruned top-1 | drop (points) | epochs run (best) | stop | "
        "training s | job s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in rows:
        drop = 100 * (row["original"] - row["pruned"])
        table.append(
            f"| {label} | {row['original']:.4f} | {row['pruned']:.4f} | {drop:.2f} | {row['epochs_run']} "
            f"({row['best_epoch']}) | {row['stop']} | {row['train_s']:.1f} | {row['job_s']:.1f} |"
        )
    text = "\n".join(table)
    print(text)
    for label, row in rows:
        print(f"{label}: {row['stop_reason']}; warnings: {row['warnings']}")
    if args.out:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        command = f"`.venv/bin/python benchmarks/recovery.py --threads {args.threads}`"
        with args.out.open("a") as handle:
            handle.write(
                f"\n\n## Recovery that sizes itself ({stamp})\n\nMachine: {machine()}. Command: {command}.\n\n"
            )
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
