"""The weight_only pass on a GPT-2-style decoder (tests/engine/lm_models.py): int4 / int8 MatMulNBits models
that run in onnxruntime at other batch sizes and sequence lengths than the export's, judged by the verdict;
and the memory pre-flight refusing a job the worker cannot hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from app.core.schemas.recipe import Recipe
from tests.engine.lm_models import VOCAB, gpt2_decoder, token_data
from tests.factories import npz_bytes
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import EngineError, memory, optimize


@pytest.fixture(scope="session")
def decoder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The decoder, briefly trained, and 32 token sequences of 24 as its dataset."""
    root = tmp_path_factory.mktemp("lm")
    model = gpt2_decoder(root / "gpt2.onnx", train_steps=15)
    data = root / "tokens.npz"
    data.write_bytes(npz_bytes(input_ids=token_data(32, 24, seed=7)))
    return model, data


def weight_only(model: Path, data: Path, out: Path, limit: int | None = None, **options):  # type: ignore[no-untyped-def]
    recipe = Recipe.model_validate({"passes": [{"type": "weight_only", **options}]})
    return optimize(
        model, data, recipe, out, threads=1, latency_budget_s=float(TEST_LATENCY_BUDGET_S), memory_limit_bytes=limit
    )


def nbits_nodes(path: Path) -> list[onnx.NodeProto]:
    return [n for n in onnx.load(str(path)).graph.node if n.op_type == "MatMulNBits"]


def attribute(node: onnx.NodeProto, name: str) -> int:
    return next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name)


def runs_at_any_shape(path: Path) -> None:
    """The model runs at batch/sequence sizes other than the export's and keeps its axes symbolic."""
    model = onnx.load(str(path))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert all(isinstance(d, str) and d for d in dims), dims
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, sequence in ((1, 5), (3, 40)):
        ids = np.random.default_rng(batch).integers(0, VOCAB, (batch, sequence), dtype=np.int64)
        [logits] = session.run(None, {"input_ids": ids})
        assert logits.shape == (batch, sequence, VOCAB)


@pytest.mark.parametrize(("bits", "block"), [(4, 32), (8, 64)])
def test_int4_and_int8_models_run_with_dynamic_axes_and_are_judged(decoder, tmp_path, bits, block):
    model, data = decoder
    result = weight_only(model, data, tmp_path, bits=bits, block_size=block)
    out = tmp_path / result.model_artifact
    nodes = nbits_nodes(out)
    # 8 Gemm layers (c_attn, c_proj, c_fc, mlp c_proj × 2) rewritten as MatMul, plus the tied head
    assert len(nodes) == 9
    assert {attribute(n, "bits") for n in nodes} == {bits}
    assert {attribute(n, "block_size") for n in nodes} == {block}
    runs_at_any_shape(out)

    report = result.report
    [entry] = report["passes"]
    assert entry["type"] == "weight_only" and entry["chosen"] == f"int{bits}-rtn-block{block}-level4"
    assert entry["quantized_matmuls"] == 9 and entry["symbolic_axes_kept"] is True
    assert entry["io_shapes"]["input_ids"] == ["batch", "sequence"]
    assert {k["reason"] for k in entry["kept_in_float"]} == {
        "embedding table (quantize_embeddings is off, or not at these options)"
    }
    assert report["verdict"]["decided_by"] == "logits"
    assert report["verdict"]["within"] is True  # cosine of the logits ≥ 0.99
    assert report["size_ratio"] < (0.75 if bits == 4 else 0.9)
    assert report["memory"]["estimate_bytes"] > report["memory"]["weights_bytes"] > 0


def test_embeddings_quantized_and_the_head_kept(decoder, tmp_path):
    model, data = decoder
    result = weight_only(model, data, tmp_path, quantize_embeddings=True, quantize_lm_head=False)
    out = tmp_path / result.model_artifact
    ops = Counter(n.op_type for n in onnx.load(str(out)).graph.node)
    assert ops["GatherBlockQuantized"] == 2 and ops["MatMulNBits"] == 8
    entry = result.report["passes"][0]
    assert {k["reason"] for k in entry["kept_in_float"]} == {"the head (quantize_lm_head is off)"}
    runs_at_any_shape(out)


@pytest.mark.parametrize("algorithm", ["hqq", "gptq"])
def test_hqq_and_gptq_on_the_calibration_split_give_int4_models(decoder, tmp_path, algorithm):
    model, data = decoder
    result = weight_only(model, data, tmp_path, algorithm=algorithm)
    nodes = nbits_nodes(tmp_path / result.model_artifact)
    assert len(nodes) == 9 and {attribute(n, "bits") for n in nodes} == {4}
    assert {attribute(n, "block_size") for n in nodes} == {32}
    assert result.report["passes"][0]["algorithm"] == algorithm
    assert result.report["verdict"]["within"] is True


def test_auto_measures_the_combinations_and_keeps_a_faithful_faster_one_or_the_input(decoder, tmp_path):
    model, data = decoder
    result = weight_only(model, data, tmp_path, mode="auto")
    entry = result.report["passes"][0]
    names = {row["name"] for row in entry["candidates"]}
    # the decoder's weights are 64 wide at the narrowest: blocks 32/64 (128 only where a weight is that wide)
    assert {"int4-rtn-block32-level4", "int8-rtn-block64-level1", "int4-rtn-block128-level4"} <= names
    assert all(row["within_limit"] is not None for row in entry["candidates"])
    if entry["chosen"] is None:  # a tiny model's MatMuls are too small for MatMulNBits to win: said so
        assert any("no weight-only candidate" in w for w in result.report["warnings"])
        assert result.report["unchanged"] is True
    else:
        chosen = next(r for r in entry["candidates"] if r["name"] == entry["chosen"])
        assert chosen["within_limit"] and chosen["speedup_interval"][0] > 1.0


def test_a_job_larger_than_the_worker_limit_is_refused_before_loading(decoder, tmp_path):
    model, data = decoder
    need = memory.estimate(model, data, Recipe.model_validate({"passes": [{"type": "weight_only"}]}))
    with pytest.raises(EngineError) as refused:
        weight_only(model, data, tmp_path, limit=need.peak_bytes - 1)
    assert refused.value.code == "model_too_large_for_worker"
    mib = 1024**2
    assert f"{need.peak_bytes // mib} MB" in refused.value.message
    assert f"allows {(need.peak_bytes - 1) // mib} MB" in refused.value.message
    assert not (tmp_path / "model.onnx").exists()
