"""Transformer graph fusion in ``quantize auto``, on a BERT-style encoder trained briefly on the standard
library's docstrings (tests/engine/encoder_models.py; 2 layers of width 128 and 150 steps on 32 bytes here,
to keep the build short; the benchmark's is 4 × 256):
the graph is recognised as an encoder, fused by onnxruntime's transformers optimizer, and the fused candidates
run at any batch and sequence length and are measured and judged like every other candidate."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from app.core.schemas.recipe import QuantizePass, Recipe
from tests.engine.encoder_models import VOCAB, bert_encoder, encode, split_paragraphs, token_dataset
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import optimize, preflight
from worker.engine.api import measure_baseline
from worker.engine.passes.quantize import candidates, fusion
from worker.engine.passes.quantize.transformer import detect, resolve
from worker.engine.progress import Reporter

HIDDEN, HEADS, LAYERS = 128, 4, 2
FUSED_NAMES = {
    "fused fp32",
    "fused + static int8 QDQ (minmax, per-tensor)",
    "fused + dynamic int8 (per-tensor)",
    "fused + dynamic int8 (per-channel)",
}


@pytest.fixture(scope="session")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The encoder (150 masked-LM steps) and 48 held-out paragraphs of 32 tokens as its dataset."""
    root = tmp_path_factory.mktemp("encoder")
    model = bert_encoder(
        root / "bert.onnx",
        layers=LAYERS,
        hidden=HIDDEN,
        heads=HEADS,
        intermediate=4 * HIDDEN,
        train_steps=150,
        lr=1e-3,
        sequence=32,
    )
    return model, token_dataset(root / "tokens.npz", 48, 32)


def run(model: Path, data: Path, out: Path, **quantize):  # type: ignore[no-untyped-def]
    recipe = Recipe.model_validate({"passes": [{"type": "quantize", "mode": "auto", **quantize}]})
    return optimize(model, data, recipe, out, threads=1, latency_budget_s=float(TEST_LATENCY_BUDGET_S))


def ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def feeds(batch: int, sequence: int) -> dict[str, np.ndarray]:
    """Held-out text at another batch and sequence length than the dataset's; the first row left-padded."""
    _, held_out = split_paragraphs()
    ids, mask = encode(held_out[-batch:], sequence)
    ids[0], mask[0] = np.roll(ids[0], sequence // 3), np.roll(mask[0], sequence // 3)
    return {"input_ids": ids, "attention_mask": mask}


def outputs(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def symbolic_io(path: Path) -> dict[str, list[str | int]]:
    model = onnx.load(str(path))
    return {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(model.graph.input) + list(model.graph.output)
    }


def test_the_encoder_is_detected_as_bert_with_its_heads_and_width(encoder):
    model, _ = encoder
    found = detect(onnx.load(str(model)))
    assert found is not None
    assert (found.model_type, found.num_heads, found.hidden_size) == ("bert", HEADS, HIDDEN)
    assert f"{LAYERS} attention block(s)" in found.decided_by and "encoder (no causal mask)" in found.decided_by
    assert "token embeddings read input 'input_ids'" in found.decided_by
    assert resolve(onnx.load(str(model)), QuantizePass(model_type="none")) is None
    given = resolve(onnx.load(str(model)), QuantizePass(model_type="bert", num_heads=2))
    assert given is not None and given.num_heads == 2 and "given in the recipe" in given.decided_by


@pytest.mark.slow
def test_a_gpt2_decoder_is_detected_by_its_causal_mask_and_each_fused_twin_is_accounted_for(tmp_path):
    from tests.engine.lm_models import gpt2_decoder, token_data

    model = gpt2_decoder(tmp_path / "gpt2.onnx", train_steps=0)
    found = detect(onnx.load(str(model)))
    assert found is not None and found.model_type == "gpt2"
    assert "causal mask comparing two position ranges" in found.decided_by
    assert (found.num_heads, found.hidden_size) == (4, 64)

    # onnxruntime 1.32's gpt2 optimizer raises on transformers 5's dynamo export: each fused twin is then a
    # failed candidate with the reason (said once), and the job goes on with the others
    data = tmp_path / "tokens.npz"
    np.savez(data, input_ids=token_data(24, 16, seed=7))
    report = run(model, data, tmp_path / "out").report
    rows = [row["name"] for row in report["passes"][0]["candidates"]]
    failed = [w for w in report["warnings"] if w.startswith("candidate fused")]
    assert len([n for n in rows if n.startswith("fused")]) + len(failed) == 4
    assert all(not n.startswith("fused") for n in rows) or not failed
    if failed:
        assert "transformers optimizer (model_type gpt2) failed" in failed[0]


def attention_graph(mask: str) -> onnx.ModelProto:
    """One head of attention over token embeddings (width 16, scores scaled by 1/4), with no mask, a Trilu-made
    causal mask, or a constant lower-triangular bool mask of 8 positions."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["x"]),
        helper.make_node("LayerNormalization", ["x", "ln_scale", "ln_bias"], ["h"], axis=-1),
        *(helper.make_node("MatMul", ["h", f"w{p}"], [p]) for p in "qkv"),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"]),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
    ]
    initializers = [
        weight("table", 50, 16), weight("ln_scale", 16), weight("ln_bias", 16),
        *(weight(f"w{p}", 16, 16) for p in "qkv"),
        numpy_helper.from_array(np.array(0.25, np.float32), "scale"),
    ]  # fmt: skip
    logits = "scaled"
    if mask == "trilu":
        nodes.append(helper.make_node("Trilu", ["scaled"], ["lower"], upper=0))
        logits = "lower"
    elif mask == "tril_constant":
        initializers.append(numpy_helper.from_array(np.tril(np.ones((1, 8, 8), bool)), "causal"))
        initializers.append(numpy_helper.from_array(np.array(-1e4, np.float32), "minus"))
        nodes.append(helper.make_node("Where", ["causal", "scaled", "minus"], ["lower"]))
        logits = "lower"
    nodes += [
        helper.make_node("Softmax", [logits], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "attention",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8, 16])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(
    ("mask", "model_type", "because"),
    [
        ("none", "bert", "encoder (no causal mask)"),
        ("trilu", "gpt2", "a Trilu node"),
        ("tril_constant", "gpt2", "a constant lower-triangular mask (causal)"),
    ],
)
def test_a_causal_mask_makes_a_decoder_and_the_scale_gives_the_head_size(mask, model_type, because):
    found = detect(attention_graph(mask))
    assert found is not None and found.model_type == model_type and because in found.decided_by
    assert (found.num_heads, found.hidden_size) == (1, 16)  # head size 16 = 1 / 0.25², from the scores' scale


@pytest.mark.parametrize("name", ["cnn", "mlp", "transformer"])
def test_graphs_without_attention_or_token_embeddings_are_not_fused(built, name):
    # the torch transformer block has attention and LayerNorm but reads float features, not token ids
    model = onnx.load(str(built(name)))
    assert detect(model) is None
    mix = candidates.op_mix(model)
    assert not mix.transformer
    order = preflight.decide(preflight.Hardware("cpu-avx2"), "cpu", mix).order
    assert not set(order) & set(preflight.FUSED_TWINS.values())


def test_the_preflight_puts_each_fused_twin_after_its_candidate():
    decision = preflight.decide(preflight.Hardware("cpu-avx2"), "cpu", preflight.OpMix(0, 12, transformer=True))
    assert decision.order == [
        preflight.FP32,
        preflight.FUSED_FP32,
        preflight.DYNAMIC,
        preflight.FUSED_DYNAMIC,
        preflight.STATIC,
        preflight.FUSED_STATIC,
    ]
    assert set(decision.skipped) == {preflight.FP16, preflight.FUSED_FP16}
    assert "transformer graph" in decision.notes[-1]
    cuda = preflight.decide(preflight.Hardware("cuda-sm90"), "cuda", preflight.OpMix(0, 12, transformer=True))
    assert cuda.order[:2] == [preflight.FP16, preflight.FUSED_FP16]


@pytest.mark.slow
def test_fused_candidates_run_at_other_shapes_and_match_the_encoder(encoder, tmp_path):
    model, data = encoder
    recipe = Recipe.model_validate({"passes": [{"type": "quantize"}]})
    evaluation = measure_baseline(model, data, recipe, tmp_path, Reporter(None, None), threads=1)
    config = QuantizePass(per_channel=False)
    transformer = resolve(onnx.load(str(model)), config)
    assert transformer is not None
    fused = fusion.Fusion(transformer)
    built = {
        builder: fused.wrap(builder)(evaluation.ctx, model, config.model_copy(update={"mode": mode}))
        for mode, builder in [("fp32", fusion.fp32), ("dynamic", candidates.dynamic), ("static", candidates.static)]
    }
    fp32, dynamic, static = built[fusion.fp32], built[candidates.dynamic], built[candidates.static]
    assert fp32.name == "fused fp32"
    assert dynamic.name == "fused + dynamic int8 (per-tensor)"
    assert static.name == "fused + static int8 QDQ (minmax, per-tensor)"

    # what onnxruntime 1.32 fuses in a TorchScript export of transformers 5's eager BERT attention
    assert fp32.fusion is not None
    assert fp32.fusion["fused_ops"] == {
        "EmbedLayerNormalization": 1,
        "Attention": LAYERS,
        "BiasGelu": LAYERS,
        "SkipLayerNormalization": 2 * LAYERS,
    }
    assert ops(fp32.path)["Attention"] == LAYERS and ops(fp32.path)["Softmax"] == 0
    assert "model_type bert" in fp32.notes[0] and "detected from the graph" in fp32.notes[0]
    assert ops(dynamic.path)["QAttention"] == LAYERS  # the dynamic quantizer knows the fused Attention
    assert ops(static.path)["QuantizeLinear"] >= 1

    for candidate in (fp32, dynamic, static):
        assert symbolic_io(candidate.path) == symbolic_io(model)
    for batch, sequence in ((3, 40), (1, 7)):
        feed = feeds(batch, sequence)
        reference = outputs(model, feed)
        fp32_out = outputs(fp32.path, feed)
        # the raw attention mask: exact for the left-padded row too (MaskIndexEnd would not be)
        for ours, theirs in zip(fp32_out, reference, strict=True):
            assert ours.shape == theirs.shape
            np.testing.assert_allclose(ours, theirs, atol=1e-4)
        assert reference[0].shape == (batch, sequence, HIDDEN)
        # int8: token states close to the original's once the direction all tokens share is taken out
        real = feed["attention_mask"].astype(bool)
        centre = reference[0][real].mean(0)
        for candidate in (dynamic, static):
            states = outputs(candidate.path, feed)[0]
            assert cosine(states[real] - centre, reference[0][real] - centre).mean() > 0.95

    # fp16 (measured on a cuda target only): built on the CPU path all the same, float32 at its edges
    half = fused.wrap(candidates.fp16)(evaluation.ctx, model, config.model_copy(update={"mode": "fp16"}))
    assert half.name == "fused + fp16"
    graph = onnx.load(str(half.path)).graph
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph.initializer)
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert symbolic_io(half.path) == symbolic_io(model)


@pytest.mark.slow
def test_auto_measures_and_judges_the_fused_candidates(encoder, tmp_path):
    model, data = encoder
    result = run(model, data, tmp_path)
    report = result.report
    summary = report["passes"][0]
    rows = {row["name"]: row for row in summary["candidates"]}
    assert set(rows) >= FUSED_NAMES, sorted(rows)
    assert {"fp32 optimized offline", "dynamic int8 (per-tensor)", "static int8 QDQ (minmax, per-tensor)"} <= set(rows)
    for name in FUSED_NAMES:
        row = rows[name]
        assert row["within_limit"] is not None and row["quality"] and row["speedup"] is not None
        assert row["speedup_interval"][0] <= row["speedup"] <= row["speedup_interval"][1]
        assert row["fusion"]["model_type"] == "bert" and row["fusion"]["fused_ops"]["Attention"] == LAYERS
        assert row["fusion"]["opt_level"] == 1
    assert not any(w.startswith("candidate fused") for w in report["warnings"])  # all of them built and ran
    order = report["environment"]["preflight"]["order"]
    assert {preflight.FUSED_FP32, preflight.FUSED_DYNAMIC, preflight.FUSED_STATIC} <= set(order)

    out = result.artifacts["model.onnx"]
    assert symbolic_io(out) == symbolic_io(model)
    [hidden, embedding] = outputs(out, feeds(2, 50))
    assert hidden.shape == (2, 50, HIDDEN) and embedding.shape == (2, HIDDEN)
    if summary["chosen"] is not None:
        assert rows[summary["chosen"]]["within_limit"] and rows[summary["chosen"]]["speedup_interval"][0] > 1.0


@pytest.mark.slow
def test_model_type_none_builds_no_fused_candidate(encoder, tmp_path):
    model, data = encoder
    report = run(model, data, tmp_path, model_type="none").report
    summary = report["passes"][0]
    names = [row["name"] for row in summary["candidates"]]
    assert names and not any(name.startswith("fused") for name in names)
    assert not any("fusion" in row for row in summary["candidates"])
    # the pre-flight the report records follows the recipe too, not the graph alone
    assert not set(report["environment"]["preflight"]["order"]) & set(preflight.FUSED_TWINS.values())


@pytest.mark.slow
def test_a_cnn_gets_no_fused_candidate(built, data, tmp_path):
    result = run(built("cnn"), data(x=(48, 1, 8, 8), labels=10), tmp_path)
    names = [row["name"] for row in result.report["passes"][0]["candidates"]]
    assert "fp32 optimized offline" in names and not any(name.startswith("fused") for name in names)
    assert not set(result.report["environment"]["preflight"]["order"]) & set(preflight.FUSED_TWINS.values())


def test_token_datasets_come_from_held_out_text(tmp_path):
    training, held_out = split_paragraphs()
    assert len(held_out) > 100 and not set(held_out) & set(training)
    arrays = np.load(token_dataset(tmp_path / "tokens.npz", 16, 24))
    ids, mask = arrays["input_ids"], arrays["attention_mask"]
    assert ids.shape == mask.shape == (16, 24) and ids.dtype == np.int64
    assert ids.max() < VOCAB and (mask.sum(1) < 24).any()  # some rows are padded
    assert np.array_equal(mask, (ids != 0).astype(np.int64))
