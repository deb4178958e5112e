"""Language models judged on tokens (worker/engine/lm_eval): a byte-level GPT-2-style decoder trained on the
standard library's docstrings (tests/engine/lm_models.py), with and without a KV cache, against itself, against
a perturbed copy, and through jobs that quantize it; a BERT-style encoder timed per sequence length."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from app.core.schemas.recipe import QualityLimit, Recipe
from tests.engine import encoder_models
from tests.engine.lm_models import PAD, TEXT_VOCAB, TextDecoder, text_decoder, text_tokens
from tests.factories import cnn_onnx, npz_bytes
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import EngineError, lm_eval, modelio, optimize, rollout
from worker.engine.api import Evaluation, measure_baseline
from worker.engine.progress import Reporter
from worker.engine.verdict import Judge

EVAL_SEQUENCES, TOKENS = 48, 32


@pytest.fixture(scope="session")
def text_lm(tmp_path_factory: pytest.TempPathFactory) -> TextDecoder:
    """The decoder, trained once per session (about 8 s on one core) and exported with and without a cache."""
    return text_decoder(tmp_path_factory.mktemp("text-lm"))


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Held-out windows of the text: unpadded (input_ids only) and right-padded with an attention mask."""
    root = tmp_path_factory.mktemp("text-tokens")
    plain, padded = root / "tokens.npz", root / "padded.npz"
    plain.write_bytes(npz_bytes(**text_tokens(EVAL_SEQUENCES, TOKENS, seed=3)))
    padded.write_bytes(npz_bytes(**text_tokens(EVAL_SEQUENCES, TOKENS, seed=3, padded=True)))
    return {"plain": plain, "padded": padded}


def baseline(model: Path, data: Path, work: Path, **recipe: object) -> Evaluation:
    """The job's baseline stage: the data loaded, the model detected, run and judged against itself."""
    return measure_baseline(
        model, data, Recipe.model_validate(recipe), work, Reporter(None, None), 1, float(TEST_LATENCY_BUDGET_S)
    )


def signature_of(path: Path) -> lm_eval.Signature:
    model = onnx.load(str(path))
    found = lm_eval.detect(model, modelio.input_specs(model), modelio.output_specs(model), "auto")
    assert found is not None
    return found


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def perturbed(source: Path, out: Path, scale: float) -> Path:
    """A copy whose weight matrices carry Gaussian noise of ``scale`` times their own spread."""
    model = onnx.load(str(source))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.ndim == 2 and array.size >= 1024:
            noisy = array + scale * array.std() * rng.standard_normal(array.shape)
            init.CopyFrom(numpy_helper.from_array(noisy.astype(np.float32), init.name))
    onnx.save(model, str(out))
    return out


# -- the metrics themselves -------------------------------------------------------------------------------------


def test_token_metrics_on_known_values():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [1 / 3, 1 / 3, 1 / 3]]]))
    ids = np.array([[0, 1, 2]])
    predicted, target, counted = lm_eval.reduce_logits(logits, ids, np.array([[1, 1, 0]]))
    assert predicted.tolist() == [[0, 1, -1]]  # the masked position predicts nothing
    assert np.allclose(target, np.log([[0.25, 0.1]])) and counted.tolist() == [[True, False]]
    assert lm_eval.perplexity(target, counted) == pytest.approx(4.0)  # only p(1 | 0) = 0.25 counts
    assert lm_eval.next_token_agreement(predicted, np.array([[0, 2, 1]])) == 0.5
    agreement, prefix = lm_eval.continuation_agreement(
        np.array([[1, 2, 3, 4], [5, 6, 7, 8]]), np.array([[1, 2, 0, 4], [5, 6, 7, 8]])
    )
    assert agreement == pytest.approx(7 / 8) and prefix == pytest.approx((2 / 4 + 1) / 2)


# -- the decoder against itself, and against torch ---------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
def test_the_model_against_itself_agrees_fully_and_its_perplexity_is_torchs(text_lm, tokens, tmp_path, padded):
    import torch

    evaluation = baseline(text_lm.cache, tokens["padded" if padded else "plain"], tmp_path)
    ctx = evaluation.ctx
    assert evaluation.tokens is not None and evaluation.tokens.cache and ctx.plan.state == {}  # decoded, no rollout
    [verdict] = ctx.baseline_quality.per_output
    metrics = verdict["metrics"]
    assert verdict["kind"] == "language_model" and verdict["within"] and ctx.baseline_quality.decided_by == "logits"
    assert metrics["next_token_agreement"] == 1.0 and metrics["perplexity_increase"] == 0.0
    assert metrics["continuation_agreement"] == 1.0 and metrics["continuation_prompts"] == len(ctx.plan.indices)

    # the same perplexity, from the trained torch model and torch's own cross-entropy
    ids = ctx.dataset.arrays["input_ids"][ctx.plan.indices]
    mask = ctx.dataset.arrays["attention_mask"][ctx.plan.indices]
    assert padded == bool((mask == 0).any()) and (ids[mask == 0] == PAD).all()
    with torch.no_grad():
        logits = text_lm.torch_model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
    counted = torch.from_numpy((mask[:, :-1] & mask[:, 1:]).astype(bool))
    targets = torch.from_numpy(ids[:, 1:]).masked_fill(~counted, -100)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, TEXT_VOCAB), targets.reshape(-1))
    assert metrics["perplexity_baseline"] == pytest.approx(math.exp(float(loss)), rel=1e-4)
    assert metrics["perplexity_baseline"] < TEXT_VOCAB / 4  # trained: far better than guessing among 258 tokens


def test_a_perturbed_copy_disagrees_and_the_limits_decide(text_lm, tokens, tmp_path):
    evaluation = baseline(text_lm.cache, tokens["plain"], tmp_path)
    ctx = evaluation.ctx
    noisy = ctx.session(perturbed(text_lm.cache, tmp_path / "noisy.onnx", 0.35))
    outputs = rollout.outputs(noisy, ctx.dataset, ctx.plan)
    quality = ctx.judge.judge(outputs)
    metrics = quality.per_output[0]["metrics"]
    agreement, increase = metrics["next_token_agreement"], metrics["perplexity_increase"]
    assert agreement < 0.95 and increase > 0.05 and metrics["continuation_agreement"] < 1.0
    assert not quality.within and quality.decided_by == "logits"
    assert "next-token agreement" in quality.why and "perplexity" in quality.why

    def judged(**limits: float) -> tuple[bool, str]:
        limit = QualityLimit.model_validate(limits)
        judge = Judge(limit, ctx.judge.reference, ctx.judge.names, None, language_model=ctx.judge.language_model)
        verdict = judge.judge(outputs)
        return verdict.within, verdict.why

    assert judged(min_next_token_agreement=agreement, max_perplexity_increase=increase)[0]  # exactly at the limits
    within, why = judged(min_next_token_agreement=agreement + 0.01, max_perplexity_increase=increase)
    assert not within and f"next-token agreement {agreement:.4f} (limit {agreement + 0.01:g})" in why
    within, why = judged(min_next_token_agreement=agreement, max_perplexity_increase=increase * 0.9)
    assert not within and f"({increase:+.2%}, limit +{increase * 0.9:.2%})" in why
    within, why = judged(
        min_next_token_agreement=agreement, max_perplexity_increase=increase, min_continuation_agreement=1.0
    )
    assert not within and "greedy continuation agreement" in why


# -- decoding through the cache and without it -------------------------------------------------------------------


def test_cache_and_no_cache_continue_a_prompt_alike_and_as_torch_generates(text_lm, tokens, tmp_path):
    import torch

    prompts = np.load(tokens["plain"])["input_ids"][:12, :8]
    cache, plain = signature_of(text_lm.cache), signature_of(text_lm.plain)
    assert set(cache.cache) == {f"past_key_values.{i}.{kv}" for i in range(2) for kv in ("key", "value")}
    assert plain.cache == {} and plain.attention_mask is None and cache.vocab_size == plain.vocab_size == TEXT_VOCAB
    cached = lm_eval.greedy_continuation(session(text_lm.cache), cache, prompts, 16)
    rerun = lm_eval.greedy_continuation(session(text_lm.cache), cache, prompts, 16, use_cache=False)
    uncached = lm_eval.greedy_continuation(session(text_lm.plain), plain, prompts, 16)
    assert cached.shape == (12, 16) and (cached == rerun).all() and (cached == uncached).all()
    with torch.no_grad():
        generated = text_lm.torch_model.generate(
            torch.from_numpy(prompts), attention_mask=torch.ones(prompts.shape, dtype=torch.int64),
            max_new_tokens=16, do_sample=False, pad_token_id=PAD,
        )  # fmt: skip
    assert (generated[:, 8:].numpy() == cached).all()

    # the whole evaluation: the cached model (prefilled from an empty past) reduces to the plain model's numbers
    with_cache = baseline(text_lm.cache, tokens["plain"], tmp_path / "cache").ctx
    without = baseline(text_lm.plain, tokens["plain"], tmp_path / "plain").ctx
    assert with_cache.plan.output_names == without.plan.output_names == ["logits"]
    a, b = with_cache.judge.reference[0], without.judge.reference[0]
    assert a.shape == b.shape and np.allclose(a, b, atol=1e-4)


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "says"), [(300, "holds token id 300 (sample 3, 1 ids in all)"), (-1, "negative token id -1")]
)
def test_token_ids_outside_the_vocabulary_are_refused(text_lm, tmp_path, bad, says):
    arrays = text_tokens(8, 16, seed=1)
    arrays["input_ids"][3, 5] = bad
    data = tmp_path / "bad.npz"
    data.write_bytes(npz_bytes(**arrays))
    with pytest.raises(EngineError) as refused:
        baseline(text_lm.cache, data, tmp_path)
    assert refused.value.code == "invalid_tokens" and says in refused.value.message
    if bad > 0:
        assert (
            "the model's vocabulary has 258 tokens (ids 0..257, the width of output 'logits')" in refused.value.message
        )


def test_the_task_can_be_forced_or_refused(text_lm, tokens, tmp_path, data):
    other = baseline(text_lm.plain, tokens["plain"], tmp_path, evaluation={"task": "other"})
    assert other.tokens is None and other.ctx.plan.tokens is None
    assert [o["kind"] for o in other.ctx.baseline_quality.per_output] == ["dense"]  # [T, V] per sample: dense
    cnn = onnx.load(str(cnn_onnx(tmp_path / "cnn.onnx")))
    specs = modelio.input_specs(cnn), modelio.output_specs(cnn)
    assert lm_eval.detect(cnn, *specs, "auto") is None
    with pytest.raises(EngineError) as refused:
        lm_eval.detect(cnn, *specs, "language_model")
    assert refused.value.code == "invalid_recipe" and "no integer input 'input_ids'" in refused.value.message


# -- jobs: the report, and shapes that stay symbolic (issue 16 point 7) ------------------------------------------


def runs_at_other_shapes(path: Path, original: Path) -> None:
    """Batch 2, a prompt of 5 (from an empty past), then one token onto a past of 5: shapes and logits hold."""
    model = onnx.load(str(path))
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert dims["input_ids"] == ["batch", "sequence"] and dims["past_key_values.0.key"] == ["batch", 4, "past", 16]
    signature = signature_of(path)
    ids = text_tokens(2, 6, seed=9)["input_ids"]
    results = []
    for variant in (session(path), session(original)):
        names = [o.name for o in variant.get_outputs()]
        first = variant.run(None, lm_eval.feed(signature, ids[:, :5]))
        past = {p: first[names.index(q)] for p, q in signature.cache.items()}
        step = variant.run(None, lm_eval.feed(signature, ids[:, 5:], past=past, past_length=5))
        assert first[0].shape == (2, 5, TEXT_VOCAB) and step[0].shape == (2, 1, TEXT_VOCAB)
        assert step[names.index("present.1.value")].shape == (2, 4, 6, 16)
        results.append(np.concatenate([first[0], step[0]], axis=1))
    optimized, reference = results
    assert (optimized.argmax(-1) == reference.argmax(-1)).mean() > 0.8


@pytest.mark.slow
@pytest.mark.parametrize(
    "passes",
    [[{"type": "weight_only", "block_size": 128}, {"type": "quantize"}], [{"type": "quantize", "mode": "dynamic"}]],
    ids=["weight_only+quantize_auto", "quantize_dynamic"],
)
def test_a_job_on_the_cache_model_reports_tokens_and_keeps_its_axes(text_lm, tokens, tmp_path, passes):
    recipe = Recipe.model_validate({"passes": passes, "evaluation": {"prompt_length": 12}})
    result = optimize(text_lm.cache, tokens["padded"], recipe, tmp_path, threads=1, latency_budget_s=0.3)
    report = result.report
    runs_at_other_shapes(tmp_path / result.model_artifact, text_lm.cache)

    assert report["verdict"]["decided_by"] == "logits"
    assert [o["kind"] for o in report["verdict"]["outputs"]] == ["language_model"]
    lm = report["language_model"]
    assert lm["kind"] == "decoder" and lm["kv_cache"] and lm["cache_pairs"] == 4 and lm["vocab_size"] == TEXT_VOCAB
    assert lm["tokens_per_sequence"] == TOKENS and lm["prompt_length"] == 12 and lm["continuation_tokens"] == 16
    assert lm["sequences"] == EVAL_SEQUENCES // 2 and 0 < lm["prompts"] <= lm["sequences"]
    assert 0.0 <= lm["next_token_agreement"] <= 1.0 and lm["perplexity_baseline"] > 1.0
    assert lm["perplexity_increase"] == pytest.approx(lm["perplexity_optimized"] / lm["perplexity_baseline"] - 1)
    for side in ("baseline_latency", "optimized_latency"):
        timed = lm[side]
        assert timed["prompt_length"] == 12 and timed["decode_tokens"] == 16 and timed["kv_cache"]
        assert timed["prefill_ms_p50"] > 0 and timed["decode_tokens_per_s"] > 0
    assert lm["decode_speedup"]["low"] <= lm["decode_speedup"]["value"] <= lm["decode_speedup"]["high"]
    if report["unchanged"]:
        assert lm["decode_speedup"]["value"] == 1.0 and lm["baseline_latency"] == lm["optimized_latency"]
    html = (tmp_path / "report.html").read_text()
    assert 'id="language-model"' in html and "next-token agreement" in html and "decode, batch 1" in html


@pytest.mark.slow
def test_an_encoder_is_timed_per_sequence_length(tmp_path):
    encoder = encoder_models.bert_encoder(
        tmp_path / "bert.onnx", layers=2, hidden=32, heads=2, intermediate=64, train_steps=0, positions=64
    )  # random weights: only its timing is looked at
    signature = signature_of(encoder)
    vocab = encoder_models.VOCAB
    assert not signature.decoder and signature.vocab_size == vocab  # the token-embedding table's rows
    with pytest.raises(EngineError, match=f"holds token id {vocab} .* the token-embedding table"):
        lm_eval.check_token_ids(np.array([[1, vocab]]), signature)
    data = tmp_path / "tokens.npz"
    data.write_bytes(npz_bytes(input_ids=text_tokens(16, 24, seed=2)["input_ids"]))  # no attention_mask: all real
    recipe = Recipe.model_validate({"passes": [{"type": "quantize", "mode": "dynamic"}]})
    report = optimize(encoder, data, recipe, tmp_path / "out", threads=1, latency_budget_s=0.3).report
    assert [o["kind"] for o in report["verdict"]["outputs"]] == ["dense", "dense"]  # judged as usual
    lm = report["language_model"]
    assert lm["kind"] == "encoder" and lm["logits"] is None and lm["next_token_agreement"] is None
    assert [row["sequence_length"] for row in lm["encoder_latency"]] == [16, 64]
    assert all(row["baseline_ms_p50"] > 0 and row["speedup"]["value"] > 0 for row in lm["encoder_latency"])
    assert any(note.startswith("sequence length 256 not timed") for note in lm["notes"])
    assert 'id="encoder-latency"' in (tmp_path / "out" / "report.html").read_text()


def test_a_recipe_that_names_the_cache_as_state_gets_a_rollout_not_a_token_model(tmp_path):
    from tests.engine.lm_models import tiny_cache_lm

    model = onnx.load(str(tiny_cache_lm(tmp_path / "lm.onnx")))
    inputs, outputs = modelio.input_specs(model), modelio.output_specs(model)
    assert lm_eval.detect(model, inputs, outputs, "auto") is not None
    assert lm_eval.detect(model, inputs, outputs, "auto", state_given=True) is None  # no token report either
    with pytest.raises(EngineError, match="exclude each other"):
        lm_eval.detect(model, inputs, outputs, "language_model", state_given=True)
