"""Quantization benchmark: fp32 vs onnxruntime's quantize_dynamic / quantize_static (defaults) vs Slimline auto.

One process, one machine, every variant timed in the same interleaved rounds. Models:
  - cnn-digits: a CNN trained here on scikit-learn's digits (real labelled data), accuracy
  - mlp-digits: an MLP trained here on the same data, accuracy
  - transformer-digits: a small transformer encoder trained here (rows of the digit as a sequence), accuracy
  - ocr-cls (pretrained, opset 11): rapidocr-onnxruntime's PaddleOCR text-direction classifier, fidelity
  - ocr-rec (pretrained, opset 12): rapidocr-onnxruntime's PP-OCRv4 recognizer, fidelity
The two OCR models are fed text lines rendered here with Pillow.

    .venv/bin/pip install rapidocr-onnxruntime==1.4.4 --no-deps   # only for its model files
    .venv/bin/python benchmarks/quantize.py [--threads 1] [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.schemas.recipe import Recipe  # noqa: E402
from worker.engine import evaluate, modelio, optimize  # noqa: E402


# ---------------------------------------------------------------- models and data
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


def train(module, x: np.ndarray, y: np.ndarray, epochs: int = 30) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), 64):
            index = order[start : start + 64]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(xs[index]), ys[index])
            loss.backward()
            optimizer.step()
    module.eval()


def export(module, example, path: Path) -> Path:  # type: ignore[no-untyped-def]
    import torch

    torch.onnx.export(
        module,
        (example,),
        str(path),
        input_names=["x"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
        external_data=False,
        dynamo=True,
    )
    return path


def cpu_model() -> str:
    """The CPU's model name, for the header of a results table."""
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )


def digit_models(work: Path) -> list[tuple[str, Path, dict[str, np.ndarray]]]:
    import torch
    from torch import nn

    images, labels = digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    train_idx, test_idx = order[:1200], order[1200:]
    made = []

    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )
    x4 = images[:, None]
    train(cnn, x4[train_idx], labels[train_idx], epochs=20)
    made.append(
        (
            "cnn-digits",
            export(cnn, torch.from_numpy(x4[:2]), work / "cnn.onnx"),
            {"x": x4[test_idx], "labels": labels[test_idx]},
        )
    )

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    flat = images.reshape(len(images), 64)
    train(mlp, flat[train_idx], labels[train_idx], epochs=20)
    made.append(
        (
            "mlp-digits",
            export(mlp, torch.from_numpy(flat[:2]), work / "mlp.onnx"),
            {"x": flat[test_idx], "labels": labels[test_idx]},
        )
    )

    class Encoder(nn.Module):
        def __init__(self, dim: int = 64) -> None:
            super().__init__()
            self.embed = nn.Linear(8, dim)
            self.position = nn.Parameter(torch.zeros(1, 8, dim))
            layer = nn.TransformerEncoderLayer(dim, 4, dim * 4, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.head(self.encoder(self.embed(x) + self.position).mean(dim=1))

    torch.manual_seed(0)
    encoder = Encoder()
    train(encoder, images[train_idx], labels[train_idx], epochs=25)
    made.append(
        (
            "transformer-digits",
            export(encoder, torch.from_numpy(images[:2]), work / "transformer.onnx"),
            {"x": images[test_idx], "labels": labels[test_idx]},
        )
    )
    return made


def text_lines(count: int, height: int, width: int) -> np.ndarray:
    """Text lines rendered with Pillow, normalized the way PaddleOCR does ((x/255 - 0.5) / 0.5)."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(0)
    words = [
        "invoice",
        "total",
        "2026-11-24",
        "Slimline",
        "model",
        "quantize",
        "ONNX",
        "receipt",
        "amount",
        "42.00",
        "hello world",
        "latency",
        "throughput",
        "report",
        "CPU",
        "batch",
    ]
    font = ImageFont.load_default(size=28)
    lines = []
    for i in range(count):
        text = " ".join(rng.choice(words, size=2))
        image = Image.new("RGB", (width, height), "white")
        ImageDraw.Draw(image).text((4, 6), text, fill="black", font=font)
        if i % 2:
            image = image.rotate(180)  # the direction classifier's other class
        lines.append((np.asarray(image, np.float32) / 255.0 - 0.5) / 0.5)
    return np.ascontiguousarray(np.stack(lines).transpose(0, 3, 1, 2))


def ocr_models(work: Path) -> list[tuple[str, Path, dict[str, np.ndarray]]]:
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        print("rapidocr-onnxruntime is not installed: skipping the pretrained OCR models", file=sys.stderr)
        return []
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return [
        (
            "ocr-cls (pretrained, opset 11)",
            models / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
            {"x": text_lines(96, 48, 192)},
        ),
        ("ocr-rec (pretrained, opset 12)", models / "ch_PP-OCRv4_rec_infer.onnx", {"x": text_lines(64, 48, 320)}),
    ]


# ---------------------------------------------------------------- variants
class Calibration:
    def __init__(self, x: np.ndarray) -> None:
        self.feeds = iter({"x": x[i : i + 1]} for i in range(len(x)))

    def get_next(self):  # type: ignore[no-untyped-def]
        return next(self.feeds, None)


def ort_dynamic(source: Path, out: Path) -> Path:
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(source), str(out))
    return out


def ort_static(source: Path, out: Path, calibration: np.ndarray) -> Path:
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_name("prepared.onnx")
    cwd = os.getcwd()
    os.chdir(out.parent)
    try:
        quant_pre_process(str(source), str(prepared))
    finally:
        os.chdir(cwd)
    quantize_static(str(prepared), str(out), Calibration(calibration))
    return out


def slimline_auto(source: Path, data: dict[str, np.ndarray], out: Path, threads: int) -> tuple[Path, dict]:  # type: ignore[type-arg]
    npz = out / "data.npz"
    np.savez(npz, **data)
    result = optimize(source, npz, Recipe(), out / "result", threads=threads)
    return result.artifacts["model.onnx"], result.report


# ---------------------------------------------------------------- measurement
def quality_row(reference: list[np.ndarray], outputs: list[np.ndarray], labels: np.ndarray | None) -> str:
    q = evaluate.quality(reference, outputs, labels, [f"out{i}" for i in range(len(reference))])
    if q.accuracy is not None:
        return f"acc {q.accuracy['top1'] * 100:.2f}%"
    agreement = q.fidelity["top1_agreement"]
    if agreement is not None:
        return f"top-1 agr {agreement:.3f}, cos {q.fidelity['cosine_mean']:.4f}"
    return f"cos {q.fidelity['cosine_mean']:.4f}"


def benchmark(name: str, source: Path, data: dict[str, np.ndarray], work: Path, threads: int) -> list[str]:
    from worker.engine.data import Dataset

    x = data["x"]
    labels = data.get("labels")
    half = len(x) // 2
    calibration, evaluation = x[:half], x[half:]
    variants: dict[str, Path] = {"fp32": source}
    failures: dict[str, str] = {}
    for label, build in (
        ("ort dynamic", lambda d: ort_dynamic(source, d / "model.onnx")),
        ("ort static", lambda d: ort_static(source, d / "model.onnx", calibration[:64])),
    ):
        folder = work / label.replace(" ", "-")
        folder.mkdir()
        try:
            variants[label] = build(folder)
            modelio.session(variants[label], device="cpu", threads=threads)
        except Exception as exc:  # noqa: BLE001 - a baseline that breaks is a result, reported as such
            variants.pop(label, None)
            failures[label] = str(exc).strip().splitlines()[0][:80] if str(exc).strip() else type(exc).__name__
    started = time.perf_counter()
    slim_dir = work / "slimline"
    slim_dir.mkdir()
    # Slimline sees the same data: its own seeded split calibrates on one part and evaluates on the other.
    variants["slimline auto"], report = slimline_auto(source, data, slim_dir, threads)
    slim_seconds = time.perf_counter() - started

    sessions = {k: modelio.session(v, device="cpu", threads=threads) for k, v in variants.items()}
    dataset = Dataset({"x": evaluation}, {"x": False}, None, len(evaluation))
    indices = np.arange(len(evaluation))
    eval_labels = labels[half:] if labels is not None else None
    outputs = {k: evaluate.outputs_on(s, dataset, indices, 8) for k, s in sessions.items()}
    b1 = evaluate.measure_latency(sessions, {"x": evaluation[:1]}, 1, budget_s=6.0)
    b8 = evaluate.measure_latency(sessions, {"x": evaluation[:8]}, 8, budget_s=6.0)
    base = b1["fp32"].p50_ms
    rows = []
    for label in ("fp32", "ort dynamic", "ort static", "slimline auto"):
        if label not in variants:
            rows.append(f"| {name} | {label} | — | fails: {failures.get(label, '?')} | — | — | — |")
            continue
        note = ""
        if label == "slimline auto":
            chosen = report["passes"][0].get("chosen") or "input unchanged"
            note = f" ({chosen}; {slim_seconds:.0f} s)"
        rows.append(
            f"| {name} | {label}{note} | {modelio_size(variants[label]) / 1e6:.2f} MB | "
            f"{b1[label].p50_ms:.3f} ms | {base / b1[label].p50_ms:.2f}× | {b8[label].p50_ms:.3f} ms | "
            f"{quality_row(outputs['fp32'], outputs[label], eval_labels)} |"
        )
    return rows


def modelio_size(path: Path) -> int:
    return evaluate.file_size(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="Append the table to this Markdown file.")
    args = parser.parse_args()
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slimline-bench-") as tmp:
        work = Path(tmp)
        for index, (name, path, data) in enumerate([*digit_models(work), *ocr_models(work)]):
            folder = work / f"m{index}"
            folder.mkdir()
            print(f"benchmarking {name} (opset {modelio.opset_of(onnx.load(str(path)))})", file=sys.stderr)
            rows.extend(benchmark(name, path, data, folder, args.threads))
    cpu = cpu_model()
    import onnxruntime

    header = (
        f"### Quantization, {datetime.now(UTC):%Y-%m-%d}: {cpu}, {os.cpu_count()} cores, "
        f"onnxruntime {onnxruntime.__version__}, {args.threads} thread(s)\n\n"
        f"`python benchmarks/quantize.py --threads {args.threads}`. Latency p50 over interleaved rounds; speedup vs "
        "fp32 at batch 1; accuracy on held-out digits, or fidelity to fp32 (top-1 agreement, cosine) for the "
        "pretrained OCR models.\n\n"
        "| model | variant | size | b1 p50 | b1 speedup | b8 p50 | accuracy / fidelity |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
    )
    table = header + "\n".join(rows) + "\n"
    print(table)
    if args.out:
        with args.out.open("a") as handle:
            handle.write("\n" + table)


if __name__ == "__main__":
    main()
