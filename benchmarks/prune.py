"""Pruning benchmark: fp32 vs 50 % structured pruning (no recovery / fine-tuned / fine-tuned + static int8).

Every variant is produced by the engine (``worker.engine.optimize``) from an ONNX file, exactly as a job
would: the ONNX graph is lifted to torch, pruned, fine-tuned on the job's calibration split and
exported back. All variants are then timed in one process, in interleaved rounds, at batch 1.

Models:
  - cnn-fashion: a VGG-style CNN (conv-BN-ReLU ×6, 32-32-64-64-128-128 channels, max-pool after every
    second conv; ~29 M MACs per image) trained here on Fashion-MNIST (Debian's
    ``dataset-fashion-mnist``: ``apt-get install -y dataset-fashion-mnist``). The job's dataset is the
    test images plus training images it never saw: 5,000 of them (never trained on) for accuracy, the
    rest for calibration and fine-tuning.
  - transformer-digits: a small transformer encoder trained here on scikit-learn's digits (rows as a
    sequence), torch's nn.MultiheadAttention with 4 heads; pruning removes attention heads and
    feed-forward width through the ONNX path (the residual stream is kept: a learned position
    constant is added to it).

    .venv/bin/python benchmarks/prune.py [--threads 1] [--job-threads 2] [--out benchmarks/RESULTS.md]

On a machine with a GPU, ``--finetune-device cuda`` adds, beside the CPU fine-tuning, the same job with
``finetune.device: cuda`` (and a static int8 job from its result), and trains the baselines on the GPU:
recovery training on the GPU vs on the CPU, in one run, on the same pruned model and data.
"""

from __future__ import annotations

import argparse
import gzip
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
from benchmarks.quantize import cpu_model, export  # noqa: E402
from worker.engine import evaluate, macs, modelio, optimize  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
MODELS = ("cnn-fashion", "transformer-digits")


def _idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(root: Path = FASHION) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    def images(name: str) -> np.ndarray:
        return (_idx(root / name).astype(np.float32) / 255.0)[:, None]

    return (
        images("train-images-idx3-ubyte.gz"),
        _idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64),
        images("t10k-images-idx3-ubyte.gz"),
        _idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64),
    )


def train(module: Any, x: np.ndarray, y: np.ndarray, epochs: int, lr: float = 2e-3, device: str = "cpu") -> Any:
    import torch

    torch.manual_seed(0)
    module.to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    steps = epochs * -(-len(x) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    xs, ys = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    module.train()
    for _ in range(epochs):
        for index in torch.randperm(len(xs), device=device).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(xs[index]), ys[index]).backward()
            optimizer.step()
            schedule.step()
    return module.cpu().eval()


def cnn() -> Any:
    from torch import nn

    def block(c_in: int, c_out: int) -> list[Any]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(
        *block(1, 32),
        *block(32, 32),
        nn.MaxPool2d(2),
        *block(32, 64),
        *block(64, 64),
        nn.MaxPool2d(2),
        *block(64, 128),
        *block(128, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def transformer() -> Any:
    import torch
    from torch import nn

    class Digits(nn.Module):
        def __init__(self, dim: int = 64) -> None:
            super().__init__()
            self.embed = nn.Linear(8, dim)
            self.position = nn.Parameter(torch.zeros(1, 8, dim))
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
            self.head = nn.Linear(dim, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            h = self.embed(x) + self.position
            n = self.norm1(h)
            h = h + self.attn(n, n, n, need_weights=False)[0]
            h = h + self.ff(self.norm2(h))
            return self.head(h.mean(dim=1))

    return Digits()


def job(source: Path, data: Path, passes: list[dict[str, Any]], out: Path, threads: int, **recipe: Any) -> tuple:
    started = time.perf_counter()
    result = optimize(source, data, Recipe.model_validate({"passes": passes, **recipe}), out, threads=threads)
    return result.artifacts["model.onnx"], result.report, time.perf_counter() - started


def benchmark(
    name: str,
    source: Path,
    data: Path,
    plan: dict[str, tuple[list[dict[str, Any]], str]],
    work: Path,
    args: Any,
    **recipe: Any,
) -> list[str]:
    """Run each job of ``plan`` (label -> (passes, the variant it starts from)), then time every variant."""
    variants: dict[str, Path] = {"fp32": source}
    reports: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for index, (label, (passes, start)) in enumerate(plan.items()):
        print(f"[{name}] {label} ...", flush=True)
        variants[label], reports[label], seconds[label] = job(
            variants[start], data, passes, work / f"{name}-{index}", args.job_threads, **recipe
        )
    first = next(iter(reports.values()))
    accuracy = {"fp32": first["baseline"]["accuracy"]["top1"]}
    accuracy.update({label: r["optimized"]["accuracy"]["top1"] for label, r in reports.items()})
    sessions = {label: modelio.session(path, device="cpu", threads=args.threads) for label, path in variants.items()}
    with np.load(data) as arrays:
        feed = {"x": arrays["x"][:1]}
    timings = evaluate.measure_latency(sessions, feed, 1, budget_s=args.budget)
    base = timings["fp32"].p50_ms
    rows = []
    for label, path in variants.items():
        facts = macs.model_facts(path)
        drop = (accuracy["fp32"] - accuracy[label]) * 100
        trained = next((p["finetune"] for p in reports.get(label, {}).get("passes", []) if p.get("finetune")), None)
        training = f"{trained['seconds']:.1f} s on {trained['device_name']}" if trained else "—"
        rows.append(
            f"| {name} | {label} | {facts['parameter_count']:,} | {facts['macs'] / 1e6:.2f} M | "
            f"{facts['size_bytes'] / 1e6:.3f} MB | {timings[label].p50_ms:.3f} ms | "
            f"{base / timings[label].p50_ms:.2f}× | "
            f"{accuracy[label] * 100:.2f}% ({drop:+.2f}) | {f'{seconds[label]:.0f} s' if label in seconds else '—'} | "
            f"{training} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-samples", type=int, default=30000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--extra-samples", type=int, default=20000, help="unseen training images in the job's data")
    parser.add_argument("--job-threads", type=int, default=2, help="threads for the engine's jobs (fine-tuning)")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of interleaved timing per model")
    parser.add_argument("--finetune-device", choices=["cpu", "cuda"], default="cpu", help="cuda: GPU fine-tuning too")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    parser.add_argument("--fashion-dir", type=Path, default=FASHION, help="Fashion-MNIST's four .gz files")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    if unknown := set(models) - set(MODELS):
        parser.error(f"unknown model(s): {', '.join(sorted(unknown))}")
    import onnxruntime
    import torch

    gpu = args.finetune_device == "cuda"
    if gpu and not torch.cuda.is_available():
        parser.error("--finetune-device cuda: PyTorch sees no GPU here")
    train_device = "cuda" if gpu else "cpu"
    # training the baseline uses torch's default threads; the engine's jobs (fine-tuning too) use --job-threads
    rows: list[str] = []
    started = time.perf_counter()
    prune = {"type": "prune", "method": "structured", "sparsity": 0.5, "exclude_first_last": False}
    finetune = {"epochs": args.finetune_epochs, "lr": 2e-3, "batch_size": 64, "distill": True}  # cosine decay
    tuned, tuned_gpu = "pruned 50% + fine-tune", "pruned 50% + fine-tune on cuda"
    plan = {
        "pruned 50%, no recovery": ([prune], "fp32"),
        tuned: ([{**prune, "finetune": finetune}], "fp32"),
        # the quantize jobs start from the fine-tuned model (one fine-tuning run, not three); tests cover
        # prune -> quantize in one job
        "pruned 50% + fine-tune, then static int8": ([{"type": "quantize", "mode": "static"}], tuned),
        "pruned 50% + fine-tune, then quantize auto": ([{"type": "quantize", "mode": "auto"}], tuned),
    }
    if gpu:
        plan[tuned_gpu] = ([{**prune, "finetune": {**finetune, "device": "cuda"}}], "fp32")
        plan[f"{tuned_gpu}, then static int8"] = ([{"type": "quantize", "mode": "static"}], tuned_gpu)
    with tempfile.TemporaryDirectory(prefix="slimline-prune-bench-") as tmp:
        work = Path(tmp)
        if "cnn-fashion" in models:
            x_train, y_train, x_test, y_test = fashion(args.fashion_dir)
            print(f"training cnn-fashion on {train_device} ...", flush=True)
            samples = slice(0, args.train_samples)
            model = train(cnn(), x_train[samples], y_train[samples], args.epochs, device=train_device)
            source = export(model, torch.from_numpy(x_test[:2]), work / "cnn-fashion.onnx")
            data = work / "fashion.npz"
            # the job's dataset: training images the baseline never saw, plus the test set; the evaluation
            # split (5,000 of them) is never trained on, by the baseline or by fine-tuning
            unseen = slice(args.train_samples, args.train_samples + args.extra_samples)
            x_job, y_job = np.concatenate([x_train[unseen], x_test]), np.concatenate([y_train[unseen], y_test])
            np.savez(data, x=x_job, labels=y_job)
            recipe = {"split": {"calibration_fraction": (len(x_job) - 6000) / len(x_job), "max_eval_samples": 5000}}
            rows += benchmark("cnn-fashion", source, data, plan, work, args, **recipe)

        if "transformer-digits" in models:
            from sklearn.datasets import load_digits

            digits = load_digits()
            x = (digits.images / 16.0).astype(np.float32)
            y = digits.target.astype(np.int64)
            order = np.random.default_rng(0).permutation(len(x))
            fit, held = order[:900], order[900:]
            print(f"training transformer-digits on {train_device} ...", flush=True)
            trained = train(transformer(), x[fit], y[fit], 30, lr=1e-3, device=train_device)
            source = export(trained, torch.from_numpy(x[:2]), work / "transformer-digits.onnx")
            data = work / "digits.npz"
            np.savez(data, x=x[held], labels=y[held])
            small_finetune = {**finetune, "epochs": 30, "batch_size": 32}  # 448 training images: more, smaller steps
            small = {
                "pruned 50% (heads + FFN), no recovery": ([prune], "fp32"),
                "pruned 50% (heads + FFN) + fine-tune": ([{**prune, "finetune": small_finetune}], "fp32"),
            }
            if gpu:
                small["pruned 50% (heads + FFN) + fine-tune on cuda"] = (
                    [{**prune, "finetune": {**small_finetune, "device": "cuda"}}],
                    "fp32",
                )
            recipe = {"split": {"calibration_fraction": 0.5, "max_eval_samples": 5000}}
            rows += benchmark("transformer-digits", source, data, small, work, args, **recipe)
    cpu = cpu_model()
    gpu_name = f", GPU {torch.cuda.get_device_name(0)}" if gpu else ""
    command = (
        f"python benchmarks/prune.py --threads {args.threads} --job-threads {args.job_threads} "
        f"--train-samples {args.train_samples} --extra-samples {args.extra_samples} --epochs {args.epochs} "
        f"--finetune-epochs {args.finetune_epochs} --budget {args.budget}"
        + (f" --finetune-device {args.finetune_device}" if gpu else "")
        + (f" --models {args.models}" if models != list(MODELS) else "")
    )
    table = (
        f"### Pruning, {datetime.now(UTC):%Y-%m-%d}: {cpu}, {len(__import__('os').sched_getaffinity(0))} cores"
        f"{gpu_name}, onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, {args.threads} thread(s)\n\n"
        f"`{command}` ({time.perf_counter() - started:.0f} s in all). Latency: batch 1, p50 over interleaved rounds "
        "in one process, onnxruntime CPU with the stated threads; speedup vs fp32 of the same model. Accuracy on the "
        "job's evaluation split (never trained on), drop in points vs fp32 in brackets. MACs per sample, counted "
        "from the ONNX shapes of Conv/Gemm/MatMul. `job` is the engine's wall time for that job with "
        f"{args.job_threads} thread(s) (lift, prune, fine-tune, export, quantize, and its own measurements); the "
        "quantize jobs start from the fine-tuned model. `fine-tune` is the training loop's own time and device "
        f"(from the job's report); baselines trained on {train_device}.\n\n"
        "| model | variant | parameters | MACs | size | b1 p50 | b1 speedup | accuracy (drop) | job | fine-tune |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    print(table)
    if args.out:
        args.out.write_text("# Pruning benchmark results\n\n" + table)


if __name__ == "__main__":
    main()
