"""The memory pre-flight's arithmetic (worker/engine/memory.py) and the runner recording the measured peak."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.core.schemas.recipe import Recipe
from worker.engine import EngineError, memory
from worker.engine.api import OptimizeResult
from worker.runner import _record_peak

MIB = 1024**2


def logits_model(path: Path, vocab: int = 1000, external: bool = False) -> Path:
    """input_ids [batch, sequence] -> logits [batch, sequence, vocab] through a [vocab, 16] table."""
    table = numpy_helper.from_array(np.zeros((vocab, 16), np.float32), "table")
    head = numpy_helper.from_array(np.zeros((16, vocab), np.float32), "head")
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["h"]),
            helper.make_node("MatMul", ["h", "head"], ["logits"]),
        ],
        "lm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence", vocab])],
        [table, head],
    )
    model = helper.make_model(graph)
    if external:
        onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data", size_threshold=0)
    else:
        onnx.save(model, str(path))
    return path


def tokens(path: Path, samples: int = 40, sequence: int = 32) -> Path:
    np.savez(path, input_ids=np.zeros((samples, sequence), np.int64))
    return path


def recipe(*passes: dict, **extra) -> Recipe:  # type: ignore[no-untyped-def]
    return Recipe.model_validate({"passes": list(passes), **extra})


def test_copies_are_the_base_plus_the_hungriest_pass():
    base = memory.BASE_COPIES
    assert memory.copies_for(recipe({"type": "quantize", "mode": "dynamic"})) == base + memory.PASS_COPIES["quantize"]
    assert memory.copies_for(recipe({"type": "weight_only"})) == base + memory.PASS_COPIES["weight_only"]
    assert memory.copies_for(recipe({"type": "weight_only", "mode": "auto"})) == base + memory.WEIGHT_ONLY_AUTO_COPIES
    both = recipe({"type": "prune", "method": "unstructured"}, {"type": "weight_only"})
    assert memory.copies_for(both) == base + max(memory.PASS_COPIES["prune"], memory.PASS_COPIES["weight_only"])


def test_the_estimate_counts_external_data_and_the_logits_over_the_evaluation_split(tmp_path):
    model = logits_model(tmp_path / "lm.onnx", external=True)
    assert memory.weights_bytes(model) == model.stat().st_size + (tmp_path / "lm.onnx.data").stat().st_size
    data = tokens(tmp_path / "tokens.npz", samples=40, sequence=32)
    need = memory.estimate(model, data, recipe({"type": "weight_only"}))
    # judged on tokens: half the 40 samples are evaluated (calibration_fraction 0.5), each kept as 3 float64 per
    # position and the 16-token continuation; the logits only a batch at a time (8 × 32 positions × 1000 floats)
    batch = int(8 * 32 * 1000 * 4 * memory.LOGITS_BATCH_COPIES)
    assert need.outputs_bytes == 20 * (3 * 32 + 16) * 8 + batch
    # judged as a plain output (evaluation.task other): the whole logits over the evaluation split
    plain = memory.estimate(model, data, recipe({"type": "weight_only"}, evaluation={"task": "other"}))
    assert plain.outputs_bytes == 20 * 32 * 1000 * 4
    assert need.runtime_bytes == memory.RUNTIME_BYTES  # no pass needs torch
    expected = (
        memory.RUNTIME_BYTES
        + need.weights_bytes * need.copies
        + need.outputs_bytes * memory.OUTPUT_COPIES
        + need.dataset_bytes * memory.DATASET_COPIES
    )
    assert need.peak_bytes == int(expected)
    assert memory.estimate(model, data, recipe({"type": "prune"})).runtime_bytes > need.runtime_bytes


def test_a_job_over_the_limit_is_refused_naming_both_numbers(tmp_path):
    model = logits_model(tmp_path / "lm.onnx")
    need = memory.estimate(model, tokens(tmp_path / "tokens.npz"), Recipe())
    memory.check(need, None)
    memory.check(need, need.peak_bytes)
    with pytest.raises(EngineError) as refused:
        memory.check(need, 300 * MIB)
    assert refused.value.code == "model_too_large_for_worker"
    assert f"{need.peak_bytes // MIB} MB" in refused.value.message and "allows 300 MB" in refused.value.message


def test_the_runner_records_the_peak_in_the_report_and_its_file(tmp_path):
    report = {"goal_met": True, "memory": {"estimate_bytes": 5, "peak_rss_bytes": None}}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    result = OptimizeResult("model.onnx", report, {"report.json": path})
    _record_peak(result, 123 * MIB)
    assert result.report["memory"]["peak_rss_bytes"] == 123 * MIB
    assert json.loads(path.read_text())["memory"]["peak_rss_bytes"] == 123 * MIB
