"""Quantization benchmark: fp32 vs onnxruntime's quantize_dynamic / quantize_static (defaults) vs Slimline auto.

One process, one machine, every variant timed in the same interleaved rounds. Models:
  - cnn-digits: a CNN trained here on scikit-learn's digits (real labelled data), accuracy
  - mlp-digits: an MLP trained here on the same data, accuracy
  - transformer-digits: a small transformer encoder trained here (rows of the digit as a sequence), accuracy
  - ocr-cls (pretrained, opset 11): rapidocr-onnxruntime's PaddleOCR text-direction classifier, fidelity
  - ocr-rec (pretrained, opset 12): rapidocr-onnxruntime's PP-OCRv4 recognizer, fidelity
  - streaming (stateful): a GRU speech detector trained here on synthetic streams (recurrent state in ->
    state out), judged by rollout; its own table adds NNCF's defaults and a one-step judgement for contrast
The two OCR models are fed text lines rendered here with Pillow.

    .venv/bin/pip install rapidocr-onnxruntime==1.4.4 --no-deps   # only for its model files
    .venv/bin/pip install -e '.[bench]'                            # NNCF, for the streaming table
    .venv/bin/python benchmarks/quantize.py [--threads 1] [--models digits ocr streaming] [--out benchmarks/RESULTS.md]
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

from app.core.schemas.recipe import Recipe  # noqa: E402
from worker.engine import evaluate, modelio, optimize, output_metrics, rollout  # noqa: E402
from worker.engine.compare import compare  # noqa: E402
from worker.engine.data import load_dataset, split  # noqa: E402


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


def cpu_flags() -> str:
    """The instruction sets int8 speed depends on (AVX2, AVX-512, VNNI, AMX), as /proc/cpuinfo names them."""
    flags = next(
        (
            line.split(":", 1)[1].split()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        [],
    )
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8")
    present = [f for f in wanted if f in flags]
    missing = [f for f in ("avx512_vnni", "amx_int8") if f not in flags]
    return " ".join(present) + (f" (no {', no '.join(missing)})" if missing else "")


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
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self.feeds = iter(feeds)

    def get_next(self):  # type: ignore[no-untyped-def]
        return next(self.feeds, None)


def ort_dynamic(source: Path, out: Path) -> Path:
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(source), str(out))
    return out


def ort_static(source: Path, out: Path, feeds: list[dict[str, np.ndarray]]) -> Path:
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_name("prepared.onnx")
    cwd = os.getcwd()
    os.chdir(out.parent)
    try:
        quant_pre_process(str(source), str(prepared))
    finally:
        os.chdir(cwd)
    quantize_static(str(prepared), str(out), Calibration(feeds))
    return out


def slimline_auto(source: Path, data: dict[str, np.ndarray], out: Path, threads: int) -> tuple[Path, dict]:  # type: ignore[type-arg]
    npz = out / "data.npz"
    np.savez(npz, **data)
    result = optimize(source, npz, Recipe(), out / "result", threads=threads)
    return result.artifacts["model.onnx"], result.report


# ---------------------------------------------------------------- measurement
def quality_row(reference: list[np.ndarray], outputs: list[np.ndarray], labels: np.ndarray | None) -> str:
    """Accuracy on the labels, else fidelity to fp32 of the first output, judged as the verdict judges its kind."""
    scored = output_metrics.accuracy(outputs[0], labels) if labels is not None else None
    if scored is not None:
        return f"acc {scored['top1'] * 100:.2f}%"
    fidelity = output_metrics.fidelity(reference[0], outputs[0], output_metrics.output_kind(reference[0], labels))
    agreement, cosine = fidelity["top1_agreement"], fidelity["cosine_mean"]
    if cosine is None:
        return f"max abs error {fidelity['max_abs_error']:.4g}"
    return f"top-1 agr {agreement:.3f}, cos {cosine:.4f}" if agreement is not None else f"cos {cosine:.4f}"


def benchmark(
    name: str, source: Path, data: dict[str, np.ndarray], work: Path, threads: int, budget_s: float = 6.0
) -> list[str]:
    from worker.engine.data import Dataset

    x = data["x"]
    labels = data.get("labels")
    half = len(x) // 2
    calibration, evaluation = x[:half], x[half:]
    variants: dict[str, Path] = {"fp32": source}
    failures: dict[str, str] = {}
    for label, build in (
        ("ort dynamic", lambda d: ort_dynamic(source, d / "model.onnx")),
        ("ort static", lambda d: ort_static(source, d / "model.onnx", [{"x": c[None]} for c in calibration[:64]])),
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
    b1 = evaluate.measure_latency(sessions, {"x": evaluation[:1]}, 1, budget_s=budget_s)
    b8 = evaluate.measure_latency(sessions, {"x": evaluation[:8]}, 8, budget_s=budget_s)
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


# ---------------------------------------------------------------- streaming (stateful) model
STREAM_HIDDEN, STREAM_SEQUENCES, STREAM_STEPS = 64, 12, 80
STREAM_VARIANTS = ("fp32", "ort dynamic", "ort static", "nncf", "slimline auto")
ONE_STEP = Recipe.model_validate({"evaluation": {"state": {}}})  # every sample judged alone, from the zero state


def streaming_model(work: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """The test suite's GRU speech detector (hidden 64) and its synthetic streams; returns (model, npz arrays, truth).

    Inputs ``input`` [1, 64], ``state`` [1, 1, 64], ``sr`` (rank 0); outputs ``output`` [1, 1] (speech
    probability) and ``stateN``. The arrays hold ``sequence_id``; ``truth`` (the synthetic speech truth) is
    returned apart, since it is not a model input.
    """
    from tests.engine.stateful_models import streaming_dataset, streaming_detector

    path = streaming_detector(work / "streaming.onnx", hidden=STREAM_HIDDEN)
    data = streaming_dataset(sequences=STREAM_SEQUENCES, steps=STREAM_STEPS, hidden=STREAM_HIDDEN)
    truth = data.pop("truth")
    return path, data, truth


def naive_feeds(data: dict[str, np.ndarray], names: list[str], indices: np.ndarray) -> list[dict[str, np.ndarray]]:
    """One feed per sample, each with the dataset's zero initial state: how users calibrate (no rollout)."""
    return [{name: np.asarray(data[name][i]) for name in names} for i in indices]


def nncf_default(source: Path, out: Path, feeds: list[dict[str, np.ndarray]]) -> Path:
    """``nncf.quantize`` with its defaults (preset, subset_size=300, fast bias correction) on the ONNX model."""
    import contextlib
    import logging

    import nncf

    nncf.set_log_level(logging.ERROR)
    with contextlib.redirect_stdout(sys.stderr):  # its progress bars, away from the table
        quantized = nncf.quantize(onnx.load(str(source)), nncf.Dataset(feeds))
    onnx.save(quantized, str(out))
    return out


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:100] if text else type(exc).__name__


def truth_agreement(path: Path, data_path: Path, sequences: list[np.ndarray], truth: np.ndarray, threads: int) -> float:
    """The share of frames whose decision at 0.5 matches the synthetic truth, the model carrying its own state."""
    session = modelio.session(path, device="cpu", threads=threads)
    dataset = load_dataset(data_path, modelio.input_specs(modelio.load(path)))
    names = [o.name for o in session.get_outputs()]
    probabilities = [
        float(np.asarray(outs[names.index("output")]).reshape(-1)[0])
        for _, outs in rollout.stream(session, dataset, sequences, {"state": "stateN"}, names)
    ]
    return float(np.mean((np.asarray(probabilities) >= 0.5) == (truth[np.concatenate(sequences)] >= 0.5)))


def _output_metrics(result: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {o["name"]: o["metrics"] for o in result["per_output"]}


def _one_step_cell(result: dict) -> str:  # type: ignore[type-arg]
    output = _output_metrics(result)["output"]
    said = "within" if result["verdict"]["within"] else "**fails**"
    return f"{said} (agr {output['decision_agreement']:.3f}, RMSE/spread {output['normalized_rmse']:.3f})"


def slimline_candidates(report: dict) -> str:  # type: ignore[type-arg]
    """What Slimline's quantize pass built and measured, one clause per candidate."""
    clauses = []
    for candidate in report["passes"][0].get("candidates", []):
        said = "within" if candidate["within_limit"] else f"rejected: {candidate['quality']}"
        clauses.append(f"{candidate['name']} ({candidate['speedup']:.2f}×, {said})")
    return "; ".join(clauses)


def streaming_benchmark(work: Path, threads: int, budget_s: float) -> tuple[list[str], list[str]]:
    """Rows of the streaming table, and notes for the text under it (Slimline's candidates, noisy timing)."""
    source, data, truth = streaming_model(work)
    npz = work / "streaming.npz"
    np.savez(npz, **data)
    names = [i.name for i in onnx.load(str(source)).graph.input]
    # The split compare and optimize use (whole sequences, seeded): the baselines calibrate on the same
    # calibration sequences Slimline does, but sample by sample from the zero state, as a user would.
    recipe = Recipe()
    parts = split(
        load_dataset(npz, modelio.input_specs(modelio.load(source))),
        calibration_fraction=recipe.split.calibration_fraction,
        seed=recipe.split.seed,
        max_eval_samples=recipe.split.max_eval_samples,
        ordered=True,
    )
    assert parts.evaluation_sequences is not None
    feeds = naive_feeds(data, names, parts.calibration)
    variants: dict[str, Path] = {"fp32": source}
    failures: dict[str, str] = {}
    builders = {
        "ort dynamic": lambda d: ort_dynamic(source, d / "model.onnx"),
        "ort static": lambda d: ort_static(source, d / "model.onnx", feeds),
        "nncf": lambda d: nncf_default(source, d / "model.onnx", feeds),
    }
    for label, build in builders.items():
        folder = work / label.replace(" ", "-")
        folder.mkdir()
        try:
            variants[label] = build(folder)
            modelio.session(variants[label], device="cpu", threads=threads)
        except Exception as exc:  # noqa: BLE001 - a baseline that breaks is a result, reported as such
            variants.pop(label, None)
            failures[label] = first_line(exc)
    started = time.perf_counter()
    slim_dir = work / "slimline"
    slim_dir.mkdir()
    variants["slimline auto"], report = slimline_auto(source, data, slim_dir, threads)
    slim_seconds = time.perf_counter() - started
    chosen = report["passes"][0].get("chosen") or "input unchanged"

    rows: list[str] = []
    noisy: list[str] = []
    regimes: dict[str, dict] = {}  # type: ignore[type-arg]  # fp32's output as each judgement sees it
    for label in STREAM_VARIANTS:
        if label not in variants:
            rows.append(f"| {label} | — | — | — | fails: {failures.get(label, '?')} |" + " — |" * 6)
            continue
        try:
            judged = compare(source, variants[label], npz, threads=threads, time_budget_s=budget_s)
            one_step = compare(source, variants[label], npz, ONE_STEP, threads=threads, time_budget_s=0.2)
        except Exception as exc:  # noqa: BLE001 - the judge refusing a variant is a result too
            rows.append(f"| {label} | — | — | — | compare fails: {first_line(exc)} |" + " — |" * 6)
            continue
        outcome, metrics = judged["verdict"], _output_metrics(judged)
        if label == "fp32":
            regimes = {"rollout": metrics["output"], "one step": _output_metrics(one_step)["output"]}
        output, state = metrics["output"], metrics["stateN"]
        timing = judged["timing"]
        if timing.get("noisy"):
            noisy.append(f"{label}: {'; '.join(timing.get('reasons') or [])}")
        low, high = judged["speedup_interval"]
        name = f"{label} ({chosen}; {slim_seconds:.0f} s)" if label == "slimline auto" else label
        within = "within" if outcome["within"] else "**fails**"
        agreement = truth_agreement(variants[label], npz, parts.evaluation_sequences, truth, threads)
        rows.append(
            f"| {name} | {judged['size_bytes']['candidate'] / 1e3:.1f} kB | "
            f"{judged['latency_ms_p50']['original']:.4f} → {judged['latency_ms_p50']['candidate']:.4f} ms | "
            f"{judged['speedup']:.2f}× [{low:.2f}, {high:.2f}] | "
            f"{within} ({outcome['judged_by']}, {outcome['steps']} steps; by `{outcome['decided_by']}`) | "
            f"{output['decision_agreement']:.4f} | {output['normalized_rmse']:.3f} | "
            f"{output['positive_rate']:.3f} → {output['positive_rate_candidate']:.3f} | "
            f"{state['cosine_mean']:.4f} | {_one_step_cell(one_step)} | {agreement:.3f} |"
        )
    notes = [f"Slimline auto measured: {slimline_candidates(report)}."]
    if regimes:
        notes.append(
            "What each judgement sees of fp32's `output`: "
            + "; ".join(
                f"{how}, {m['positive_rate']:.1%} of the frames are speech (spread {m['baseline_std']:.3f})"
                for how, m in regimes.items()
            )
            + "."
        )
    if noisy:
        notes.append(f"Timing flagged noisy by compare on {len(noisy)} of {len(rows)} rows: " + " / ".join(noisy) + ".")
    else:
        notes.append("Timing not flagged noisy by compare on any row.")
    return rows, notes


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def streaming_table(command: str, threads: int, rows: list[str], notes: list[str]) -> str:
    header = (
        f"### Streaming model (stateful), {datetime.now(UTC):%Y-%m-%d}: {cpu_model()} ({cpu_flags()}), "
        f"{os.cpu_count()} cores, onnxruntime {package_version('onnxruntime')}, nncf {package_version('nncf')}, "
        f"torch {package_version('torch')}, {threads} thread(s)\n\n"
        f"`{command}`. The GRU speech detector of the test suite (hidden {STREAM_HIDDEN}, inputs `input`, `state`, "
        f"`sr`; outputs `output`, a speech probability, and `stateN`) trained here on synthetic streams; "
        f"{STREAM_SEQUENCES} sequences × {STREAM_STEPS} steps, split by sequence (half calibrate, half are judged). "
        "Every row is `compare(fp32, variant, npz)`, what `slimline compare` runs: a rollout over the held-out "
        "sequences, each variant carrying its own state; `output` is judged as a small output (decisions at 0.5 "
        "agree on ≥ 0.99 of the frames, RMSE / the fp32 output's spread ≤ 0.1), `stateN` as dense (cosine mean "
        "≥ 0.99). ort static and nncf calibrate the way users do, on the calibration sequences' samples one by "
        "one with the zero initial state; Slimline's own calibration follows its rollout. Latency is one step "
        "at batch 1 (p50), and the speedup vs fp32 comes with its 95 % bootstrap interval, each variant timed "
        "against fp32 in its own interleaved rounds (compare the p50s within a row, not down the column). "
        "*one-step* is the same compare with `evaluation.state: {}` (each sample judged alone, from the zero "
        "state), the judgement a non-stateful check gives. *truth* is the share of held-out frames whose "
        "decision at 0.5 matches the synthetic speech truth, in a rollout.\n\n"
        "| variant | size | b1 p50, fp32 → variant | speedup [95 %] | verdict | `output` decisions agree "
        "| `output` RMSE / spread | `output` positive frames, fp32 → variant | `stateN` cosine mean "
        "| one-step verdict | truth |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    return header + "\n".join(rows) + "\n\n" + "\n\n".join(notes) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--models",
        nargs="+",
        choices=("digits", "ocr", "streaming"),
        default=["digits", "ocr", "streaming"],
        help="Which model groups to benchmark (streaming gets its own table).",
    )
    parser.add_argument("--time-budget", type=float, default=6.0, help="Seconds of timing per measurement.")
    parser.add_argument("--out", type=Path, default=None, help="Append the table(s) to this Markdown file.")
    args = parser.parse_args()
    rows: list[str] = []
    tables: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slimline-bench-") as tmp:
        work = Path(tmp)
        models = [
            *(digit_models(work) if "digits" in args.models else []),
            *(ocr_models(work) if "ocr" in args.models else []),
        ]
        for index, (name, path, data) in enumerate(models):
            folder = work / f"m{index}"
            folder.mkdir()
            print(f"benchmarking {name} (opset {modelio.opset_of(onnx.load(str(path)))})", file=sys.stderr)
            rows.extend(benchmark(name, path, data, folder, args.threads, args.time_budget))
        if "streaming" in args.models:
            print("benchmarking the streaming model", file=sys.stderr)
            folder = work / "streaming"
            folder.mkdir()
            stream_rows, notes = streaming_benchmark(folder, args.threads, args.time_budget)
            command = (
                f"python benchmarks/quantize.py --models streaming --threads {args.threads} "
                f"--time-budget {args.time_budget:g}"
            )
            streaming = streaming_table(command, args.threads, stream_rows, notes)
    cpu = cpu_model()
    import onnxruntime

    if rows:
        header = (
            f"### Quantization, {datetime.now(UTC):%Y-%m-%d}: {cpu} ({cpu_flags()}), {os.cpu_count()} cores, "
            f"onnxruntime {onnxruntime.__version__}, {args.threads} thread(s)\n\n"
            f"`python benchmarks/quantize.py --threads {args.threads}`. Latency p50 over interleaved rounds; "
            "speedup vs fp32 at batch 1; accuracy on held-out digits, or fidelity to fp32 (top-1 agreement, "
            "cosine) for the pretrained OCR models.\n\n"
            "| model | variant | size | b1 p50 | b1 speedup | b8 p50 | accuracy / fidelity |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n"
        )
        tables.append(header + "\n".join(rows) + "\n")
    if "streaming" in args.models:
        tables.append(streaming)
    for table in tables:
        print(table)
    if args.out:
        with args.out.open("a") as handle:
            for table in tables:
                handle.write("\n" + table)


if __name__ == "__main__":
    main()
