"""Weight-only quantization of a GPT-2-style decoder (tens of millions of parameters, random weights):
fp32 vs onnxruntime's quantize_dynamic vs MatMulNBits int4 (RTN, block 32, accuracy level 4) vs int8 —
file size, batch-1 latency at sequence 64 (interleaved rounds, evaluate.measure_latency), peak RSS (VmHWM) of
a fresh process that loads the model and runs it 5 times, and fidelity of the logits to fp32.

    .venv/bin/python benchmarks/weight_only.py [--layers 6 --width 512 --vocab 32000] [--budget-s 8]

Random weights are fine for speed and size; their fidelity numbers say little about a trained model's (the
logits of a random decoder are nearly flat, so argmax agreement is harsh). Without a KV cache: every run
is a prefill of the whole sequence. The int4/int8 models come from the same steps as the ``weight_only``
pass (worker/engine/passes/weight_only: Gemm -> MatMul, the tied head's transpose stored, then
onnxruntime's MatMulNBitsQuantizer with its default RTN config).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.lm_models import gpt2_decoder  # noqa: E402
from worker.engine import evaluate, modelio  # noqa: E402
from worker.engine.passes.weight_only import graph  # noqa: E402

SEQUENCE = 64
RSS_PROBE = """
import re, sys, numpy as np, onnxruntime as ort
options = ort.SessionOptions(); options.intra_op_num_threads = int(sys.argv[2])
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
ids = np.random.default_rng(0).integers(0, int(sys.argv[3]), (1, int(sys.argv[4])), dtype=np.int64)
for _ in range(5):
    session.run(None, {"input_ids": ids})
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the forking parent's size
status = open("/proc/self/status").read()
print(int(re.search(r"^VmHWM:\\s+(\\d+) kB", status, re.MULTILINE).group(1)) * 1024)
"""


def size_bytes(path: Path) -> int:
    data = path.with_name(path.name + ".data")
    return path.stat().st_size + (data.stat().st_size if data.exists() else 0)


def prepared(source: Path, out: Path) -> Path:
    model = onnx.load(str(source))
    graph.gemms_to_matmuls(model)
    graph.fold_weight_transposes(model)
    onnx.save(model, str(out))
    return out


def nbits(source: Path, out: Path, bits: int, embeddings: bool = False) -> Path:
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    from worker.engine.graph import repair

    model = onnx.load(str(source))
    if embeddings:
        model, _ = repair.ensure_opset(model, 21)
    ops = ("MatMul", "Gather") if embeddings else ("MatMul",)
    config = DefaultWeightOnlyQuantConfig(
        block_size=32, is_symmetric=False, accuracy_level=4, op_types_to_quantize=ops, bits=bits
    )
    quantizer = MatMulNBitsQuantizer(model, bits=bits, block_size=32, accuracy_level=4, algo_config=config)
    quantizer.process()
    onnx.save(quantizer.model.model, str(out))
    return out


def dynamic(source: Path, out: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, per_channel=True)
    return out


def peak_rss(path: Path, threads: int, vocab: int, sequence: int) -> int:
    probe = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(path), str(threads), str(vocab), str(sequence)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(probe.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--threads", type=int, default=modelio.default_threads())
    parser.add_argument("--budget-s", type=float, default=8.0)
    parser.add_argument("--sequence", type=int, default=SEQUENCE, help="tokens per run (1: one decode step)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.getLogger("onnxruntime.quantization").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="slimline-bench-wo-") as tmp:
        root = Path(tmp)
        fp32 = gpt2_decoder(
            root / "fp32.onnx",
            layers=args.layers,
            width=args.width,
            heads=args.heads,
            vocab=args.vocab,
            positions=128,
            train_steps=0,
        )
        parameters = modelio.parameter_stats(modelio.load(fp32))[0]
        ready = prepared(fp32, root / "prepared.onnx")
        variants = {
            "fp32": fp32,
            "ort quantize_dynamic int8": dynamic(fp32, root / "dynamic.onnx"),
            "int4 RTN b32 level4": nbits(ready, root / "int4.onnx", 4),
            "int4 RTN b32 level4 + embeddings": nbits(ready, root / "int4-emb.onnx", 4, embeddings=True),
            "int8 RTN b32 level4": nbits(ready, root / "int8.onnx", 8),
        }
        sessions = {name: modelio.session(path, device="cpu", threads=args.threads) for name, path in variants.items()}
        ids = np.random.default_rng(1).integers(0, args.vocab, (1, args.sequence), dtype=np.int64)
        feed = {"input_ids": ids}
        reference = sessions["fp32"].run(None, feed)[0][0]
        timings = evaluate.measure_latency(sessions, feed, 1, budget_s=args.budget_s)
        rows = []
        for name, path in variants.items():
            logits = sessions[name].run(None, feed)[0][0]
            cosine = float(
                np.mean(
                    np.sum(logits * reference, -1)
                    / (np.linalg.norm(logits, axis=-1) * np.linalg.norm(reference, axis=-1) + 1e-12)
                )
            )
            speedup = timings.speedup("fp32", name)
            rows.append(
                {
                    "variant": name,
                    "size_mb": size_bytes(path) / 1e6,
                    "latency_ms_p50": timings[name].p50_ms,
                    "speedup": speedup.value,
                    "speedup_interval": [speedup.low, speedup.high],
                    "peak_rss_mb": peak_rss(path, args.threads, args.vocab, args.sequence) / 1e6,
                    "next_token_agreement": float(np.mean(logits.argmax(-1) == reference.argmax(-1))),
                    "cosine": cosine,
                }
            )
    print(
        f"GPT-2-style decoder: {args.layers} layers, width {args.width}, vocabulary {args.vocab}, "
        f"{parameters / 1e6:.1f} M parameters (random weights), batch 1, sequence {args.sequence}, "
        f"{args.threads} thread(s); machine noisy while timing: {timings.conditions.get('noisy')}"
    )
    print(
        "| variant | size MB | b1 latency ms p50 | speedup [95 % interval] | peak RSS MB | next-token agr. | cosine |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        low, high = r["speedup_interval"]
        print(
            f"| {r['variant']} | {r['size_mb']:.1f} | {r['latency_ms_p50']:.2f} | {r['speedup']:.2f}× "
            f"[{low:.2f}, {high:.2f}] | {r['peak_rss_mb']:.0f} | {r['next_token_agreement']:.3f} | {r['cosine']:.4f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"parameters": parameters, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
