"""Transformers and language models (issue 16): a BERT-style encoder and GPT-2-style decoders with a KV cache,
each as fp32, onnxruntime's ``quantize_dynamic``, onnxruntime's transformers optimizer (fp32, and + dynamic
int8), MatMulNBits int4 (RTN, block 32, accuracy level 4) and Slimline's own ``auto`` job, side by side in one
run on one machine.

    .venv/bin/python benchmarks/transformers.py [--threads 2] [--budget-s 4] [--json out.json]
    .venv/bin/python benchmarks/transformers.py --quick      # small models: checks the script, not the targets

Three models, each said with its table:

- **encoder**: BERT-style, 4 layers, hidden 256 (tests/engine/encoder_models.py), trained briefly (masked LM on
  standard-library docstrings; TorchScript export, what onnxruntime's fusions match). Batch-1 latency per
  sequence length, speedup at 64 with its 95 % interval, peak RSS, and the pooled embedding's cosine to fp32
  on held-out text.
- **decoder, speed**: GPT-2-style with a KV cache (tests/engine/lm_models.py ``export_with_cache``), 12 layers,
  width 768, vocabulary 50257: 124 M parameters, random weights (speed and size do not depend on training).
  Prefill of a 64-token prompt, decode tokens/s at batch 1 through the cache (16 tokens after it), peak RSS.
- **decoder, fidelity**: the same architecture at 4 layers × 256, trained on standard-library docstrings
  (byte tokens): next-token agreement with fp32 and perplexity on held-out text, and greedy-continuation
  agreement over 16 tokens from 32-byte prompts. Random weights give near-flat logits, where agreement means
  nothing; so fidelity comes from this trained model.

Peak RSS is VmHWM of a fresh process that loads one variant and runs it (prefill + decode, or one batch), so
the variants do not share it. Slimline's row is the model a job returns with the recipe a user would write:
``quantize auto`` for the encoder, ``weight_only auto`` for the decoders, judged on the token dataset.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx

# Run as a script, this file's folder comes first on sys.path, where its own name would shadow the
# `transformers` package: the repository's root takes its place.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from benchmarks.weight_only import dynamic, nbits, prepared, size_bytes  # noqa: E402
from worker.engine import evaluate, lm_eval, modelio  # noqa: E402
from worker.engine.errors import EngineError  # noqa: E402

PROMPT, DECODE_TOKENS, LENGTHS = 64, 16, (16, 64, 256)
DECODER_BUDGET_FACTOR = 6


# -- variants -------------------------------------------------------------------------------------------------------


def ort_fused(source: Path, out: Path, model_type: str, heads: int, width: int) -> Path:
    """onnxruntime's transformers optimizer with its defaults for ``model_type``, told the heads and width."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(str(source), model_type=model_type, num_heads=heads, hidden_size=width)
    fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    optimized.save_model_to_file(str(out))
    print(f"  ort optimizer ({model_type}) fused: {fused}", flush=True)
    return out


def fused_dynamic(source: Path, out: Path) -> Path:
    """quantize_dynamic on a fused graph: its contrib ops stop ONNX shape inference, so the tensor type the
    quantizer cannot find is given (``DefaultTensorType``, the option onnxruntime's error message points to)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source), str(out), weight_type=QuantType.QInt8, per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip
    return out


def slimline(source: Path, dataset: Path, passes: list[dict[str, Any]], out: Path, threads: int) -> Path:
    """The model a Slimline job returns for ``passes``, run in process through the engine."""
    from app.core.schemas.recipe import Recipe
    from worker.engine.api import optimize

    result = optimize(source, dataset, Recipe.model_validate({"passes": passes}), out, threads=threads)
    chosen = [p.get("chosen") for p in result.report["passes"]]
    print(f"  slimline {passes[0]['type']} auto chose {chosen}; verdict: {result.report['verdict']}", flush=True)
    return result.artifacts[result.model_artifact]


def build_variants(
    fp32: Path, root: Path, model: tuple[str, int, int], dataset: Path, passes: list[dict[str, Any]], threads: int
) -> tuple[dict[str, Path], dict[str, str]]:
    """Every variant of ``fp32`` (name -> path), and the ones that could not be built (name -> why).

    ``model``: onnxruntime's model type, heads and width, as a user of its optimizer would give them.
    """
    builders: dict[str, Callable[[], Path]] = {
        "fp32": lambda: fp32,
        "ort quantize_dynamic": lambda: dynamic(fp32, root / "dynamic.onnx"),
        "ort optimizer fp32": lambda: ort_fused(fp32, root / "fused.onnx", *model),
        "ort optimizer + quantize_dynamic": lambda: fused_dynamic(
            ort_fused(fp32, root / "fused2.onnx", *model), root / "fused-dynamic.onnx"
        ),
        "int4 RTN b32 level 4": lambda: nbits(prepared(fp32, root / "prepared.onnx"), root / "int4.onnx", 4),
        f"slimline {passes[0]['type']} auto": lambda: slimline(fp32, dataset, passes, root / "slimline", threads),
    }
    if passes[0]["type"] == "weight_only":  # the pass as named: int4 RTN, block 32, level 4, embeddings too
        named = [{"type": "weight_only", "mode": "options", "quantize_embeddings": True}]
        builders["slimline weight_only int4 + embeddings"] = lambda: slimline(
            fp32, dataset, named, root / "named", threads
        )
    built, failed = {}, {}
    for name, build in builders.items():
        start = time.monotonic()
        try:
            built[name] = build()
        except Exception as exc:  # noqa: BLE001 - a variant that cannot be built is a row that says why
            failed[name] = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            print(f"  {name}: FAILED: {failed[name]}", flush=True)
            continue
        print(f"  {name}: built in {time.monotonic() - start:.0f} s", flush=True)
    return built, failed


# -- measuring ------------------------------------------------------------------------------------------------------


def signature_of(path: Path) -> lm_eval.Signature:
    model = onnx.load(str(path), load_external_data=False)
    signature = lm_eval.detect(model, modelio.input_specs(model), modelio.output_specs(model), "auto")
    assert signature is not None, f"{path} is not a token model"
    return signature


def peak_rss(path: Path, threads: int, ids: np.ndarray) -> int:
    """VmHWM of a fresh process that loads ``path`` and runs it on ``ids`` (prefill and decode for a decoder)."""
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as handle:
        np.save(handle, ids)
    try:
        probe = subprocess.run(
            [sys.executable, __file__, "--probe", str(path), handle.name, "--threads", str(threads)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(handle.name)
    return int(probe.stdout.strip().splitlines()[-1])


def probe(path: Path, ids_path: Path, threads: int) -> None:
    session = modelio.session(path, device="cpu", threads=threads)
    signature = signature_of(path)
    ids = np.load(ids_path)
    if signature.decoder:
        lm_eval.greedy_continuation(session, signature, ids[:, :PROMPT], DECODE_TOKENS)
    else:
        session.run(None, lm_eval.feed(signature, ids))
    status = Path("/proc/self/status").read_text()  # VmHWM: ru_maxrss would survive exec from the parent
    print(int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) * 1024)  # type: ignore[union-attr]


def sessions_of(variants: dict[str, Path], threads: int) -> dict[str, Any]:
    return {name: modelio.session(path, device="cpu", threads=threads) for name, path in variants.items()}


def encoder_rows(
    variants: dict[str, Path], data: dict[str, np.ndarray], args: argparse.Namespace
) -> list[dict[str, Any]]:
    sessions = sessions_of(variants, args.threads)
    signature = signature_of(variants["fp32"])
    ids = data["input_ids"]
    stream = np.resize(ids[ids != 0], max(LENGTHS))[None, :]  # real tokens end to end, for every length
    rows: dict[str, dict[str, Any]] = {
        name: {"variant": name, "size_mb": size_bytes(p) / 1e6} for name, p in variants.items()
    }
    for length in LENGTHS:
        inputs = lm_eval.feed(signature, stream[:, :length])
        try:
            timings = evaluate.measure_latency(sessions, inputs, 1, budget_s=args.budget_s)
        except EngineError as exc:  # past the model's position table: that length does not fit
            print(f"  sequence {length} not timed: {exc.message[:120]}", flush=True)
            for name in sessions:
                rows[name][f"ms_{length}"] = None
            continue
        for name in sessions:
            rows[name][f"ms_{length}"] = timings[name].p50_ms
            if length == PROMPT:
                ratio = timings.speedup("fp32", name)
                rows[name]["speedup_64"] = [ratio.value, ratio.low, ratio.high]
    feed = {"input_ids": ids, "attention_mask": data["attention_mask"]}
    reference = sessions["fp32"].run(["embedding"], feed)[0]
    for name, session in sessions.items():
        emb = session.run(["embedding"], feed)[0]
        cos = np.sum(emb * reference, -1) / (np.linalg.norm(emb, axis=-1) * np.linalg.norm(reference, axis=-1) + 1e-12)
        rows[name].update(cosine_mean=float(cos.mean()), cosine_min=float(cos.min()))
        rows[name]["peak_rss_mb"] = peak_rss(variants[name], args.threads, stream[:, :PROMPT]) / 1e6
    return list(rows.values())


def decoder_speed_rows(variants: dict[str, Path], row: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    sessions = sessions_of(variants, args.threads)
    signature = signature_of(variants["fp32"])
    budget = args.budget_s * DECODER_BUDGET_FACTOR  # a decode call takes a third of a second at 124 M: more rounds
    prefill = lm_eval.prefill_latency(sessions, signature, row[None, :PROMPT], budget_s=budget)
    decode = lm_eval.decode_latency(sessions, signature, row, PROMPT, DECODE_TOKENS, budget_s=budget)
    rows = []
    for name, path in variants.items():
        ratio = decode.speedup("fp32", name)
        rows.append(
            {
                "variant": name,
                "size_mb": size_bytes(path) / 1e6,
                "prefill_ms": prefill[name].p50_ms,
                "decode_tokens_per_s": DECODE_TOKENS / (decode[name].p50_ms / 1000),
                "decode_speedup": [ratio.value, ratio.low, ratio.high],
                "peak_rss_mb": peak_rss(path, args.threads, row[None, : PROMPT + DECODE_TOKENS]) / 1e6,
            }
        )
    return rows


def decoder_fidelity_rows(variants: dict[str, Path], ids: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    sessions = sessions_of(variants, args.threads)
    signature = signature_of(variants["fp32"])
    assert signature.logits is not None
    prompts = ids[:, :32]

    def reduced(session: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        names = [o.name for o in session.get_outputs()]
        logits = session.run([names[names.index(signature.logits)]], lm_eval.feed(signature, ids))[0]
        predicted, target, counted = lm_eval.reduce_logits(logits, ids, None)
        return predicted, target, counted, lm_eval.greedy_continuation(session, signature, prompts, DECODE_TOKENS)

    base = reduced(sessions["fp32"])
    base_ppl = lm_eval.perplexity(base[1], base[2])
    rows = []
    for name, session in sessions.items():
        predicted, target, _, continuation = reduced(session)
        ppl = lm_eval.perplexity(target, base[2])
        rows.append(
            {
                "variant": name,
                "size_mb": size_bytes(variants[name]) / 1e6,
                "next_token_agreement": lm_eval.next_token_agreement(base[0], predicted),
                "perplexity": ppl,
                "perplexity_change": ppl / base_ppl - 1.0,
                "continuation_agreement": lm_eval.continuation_agreement(base[3], continuation)[0],
            }
        )
    return rows


# -- models ---------------------------------------------------------------------------------------------------------


def random_decoder(path: Path, layers: int, width: int, heads: int, vocab: int) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.engine.lm_models import export_with_cache

    torch.manual_seed(0)
    config = GPT2Config(n_layer=layers, n_embd=width, n_head=heads, vocab_size=vocab, n_positions=1024)
    return export_with_cache(GPT2LMHeadModel(config).eval(), path)


def lm_dataset(path: Path, ids: np.ndarray) -> Path:
    np.savez(path, input_ids=ids)
    return path


# -- output ---------------------------------------------------------------------------------------------------------


def interval(value: list[float]) -> str:
    return f"{value[0]:.2f}× [{value[1]:.2f}, {value[2]:.2f}]"


def print_table(
    title: str, rows: list[dict[str, Any]], failed: dict[str, str], columns: list[tuple[str, str, Callable[[Any], str]]]
) -> None:
    print(f"\n{title}\n")
    print("| variant | " + " | ".join(c[1] for c in columns) + " |")
    print("| --- | " + " | ".join("---:" for _ in columns) + " |")
    for r in rows:
        print(f"| {r['variant']} | " + " | ".join(fmt(r[key]) for key, _, fmt in columns) + " |")
    for name, why in failed.items():
        print(f"| {name} | failed: {why} |" + " |" * (len(columns) - 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=modelio.default_threads())
    parser.add_argument("--budget-s", type=float, default=4.0, help="seconds of interleaved timing per comparison")
    parser.add_argument("--quick", action="store_true", help="small models, short training: checks the script only")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--parts", default="encoder,speed,fidelity", help="which tables to measure (comma-separated)")
    parser.add_argument("--probe", nargs=2, type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe[0], args.probe[1], args.threads)
        return
    logging.getLogger("onnxruntime.quantization").setLevel(logging.ERROR)
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    parts = set(args.parts.split(","))
    results: dict[str, Any] = {"threads": args.threads, "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="slimline-bench-tf-") as tmp:
        for part, measure in (("encoder", measure_encoder), ("speed", measure_speed), ("fidelity", measure_fidelity)):
            if part in parts:
                (Path(tmp) / part).mkdir()
                results.update(measure(Path(tmp) / part, args))
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def measure_encoder(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from tests.engine import encoder_models

    print("encoder: building and training (4 layers × 256)", flush=True)
    shape = {"layers": 2, "hidden": 64, "heads": 4, "intermediate": 128, "train_steps": 20} if args.quick else {}
    encoder = encoder_models.bert_encoder(root / "fp32.onnx", positions=max(LENGTHS), **shape)
    data_path = encoder_models.token_dataset(root / "data.npz", 64, 64)
    bert = ("bert", shape.get("heads", 4), shape.get("hidden", 256))
    variants, failed = build_variants(
        encoder, root, bert, data_path, [{"type": "quantize", "mode": "auto"}], args.threads
    )
    return {"encoder": {"rows": encoder_rows(variants, dict(np.load(data_path)), args), "failed": failed}}


def measure_speed(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    print("decoder (speed): building with random weights", flush=True)
    shape = (2, 128, 4, 4096) if args.quick else (12, 768, 12, 50257)
    speed = random_decoder(root / "fp32.onnx", *shape)
    parameters = modelio.parameter_stats(onnx.load(str(speed)))[0]
    ids = np.random.default_rng(0).integers(0, shape[3], (16, PROMPT + DECODE_TOKENS), dtype=np.int64)
    data = lm_dataset(root / "data.npz", ids)
    wo = [{"type": "weight_only", "mode": "auto"}]
    variants, failed = build_variants(speed, root, ("gpt2", shape[2], shape[1]), data, wo, args.threads)
    rows = decoder_speed_rows(variants, ids[0], args)
    return {"decoder_parameters": parameters, "decoder_speed": {"rows": rows, "failed": failed}}


def measure_fidelity(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from tests.engine import lm_models

    print("decoder (fidelity): training 4 layers × 256 on docstrings", flush=True)
    quick = {"layers": 2, "width": 64, "heads": 4, "steps": 50}
    size = quick if args.quick else {"layers": 4, "width": 256, "heads": 4, "steps": 600}
    model, loss = lm_models.train_text_decoder(**size)
    trained = lm_models.export_with_cache(model, root / "fp32.onnx")
    ids = lm_models.text_tokens(64, PROMPT, seed=7)["input_ids"]
    data = lm_dataset(root / "data.npz", ids)
    wo = [{"type": "weight_only", "mode": "auto"}]
    variants, failed = build_variants(trained, root, ("gpt2", size["heads"], size["width"]), data, wo, args.threads)
    rows = decoder_fidelity_rows(variants, ids, args)
    return {"fidelity_train_loss": loss, "decoder_fidelity": {"rows": rows, "failed": failed}}


def print_results(results: dict[str, Any]) -> None:
    ms, pct = (lambda v: "does not fit" if v is None else f"{v:.2f}"), (lambda v: f"{v * 100:+.1f} %")
    if "encoder" in results:
        print_table(
            "Encoder: BERT-style 4 × 256, trained; batch 1",
            results["encoder"]["rows"], results["encoder"]["failed"],
            [("size_mb", "size MB", lambda v: f"{v:.1f}"), ("ms_16", "ms @16", ms), ("ms_64", "ms @64", ms),
             ("ms_256", "ms @256", ms), ("speedup_64", "speedup @64 [95 %]", interval),
             ("peak_rss_mb", "peak RSS MB", lambda v: f"{v:.0f}"),
             ("cosine_mean", "embedding cosine mean", lambda v: f"{v:.4f}"),
             ("cosine_min", "min", lambda v: f"{v:.4f}")],
        )  # fmt: skip
    if "decoder_speed" in results:
        print_table(
            f"Decoder (speed): GPT-2-style, {results['decoder_parameters'] / 1e6:.0f} M parameters, random weights, "
            f"KV cache; prompt {PROMPT}, {DECODE_TOKENS} decoded tokens, batch 1",
            results["decoder_speed"]["rows"], results["decoder_speed"]["failed"],
            [("size_mb", "size MB", lambda v: f"{v:.0f}"), ("prefill_ms", "prefill ms", lambda v: f"{v:.1f}"),
             ("decode_tokens_per_s", "decode tokens/s", lambda v: f"{v:.1f}"),
             ("decode_speedup", "decode speedup [95 %]", interval),
             ("peak_rss_mb", "peak RSS MB", lambda v: f"{v:.0f}")],
        )  # fmt: skip
    if "decoder_fidelity" in results:
        print_table(
            "Decoder (fidelity): GPT-2-style, trained on docstrings "
            f"(last loss {results['fidelity_train_loss']:.2f} nats/byte); 64 held-out windows of {PROMPT} bytes",
            results["decoder_fidelity"]["rows"], results["decoder_fidelity"]["failed"],
            [("size_mb", "size MB", lambda v: f"{v:.1f}"),
             ("next_token_agreement", "next-token agreement", lambda v: f"{v:.3f}"),
             ("perplexity", "perplexity", lambda v: f"{v:.3f}"), ("perplexity_change", "perplexity change", pct),
             ("continuation_agreement", "16-token continuation agreement", lambda v: f"{v:.3f}")],
        )  # fmt: skip


if __name__ == "__main__":
    main()
