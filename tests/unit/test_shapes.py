"""Dynamic axes stay dynamic (issue 16 point 7): the check every pass result and candidate goes through."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from worker.engine import shapes
from worker.engine.errors import EngineError


def relu(
    path: Path, dims: list[int | str | None], *, output: str = "y", out_dims: list[int | str | None] | None = None
) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info(output, TensorProto.FLOAT, dims if out_dims is None else out_dims)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], [output])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_an_open_axis_fixed_to_a_number_is_named_with_its_old_name(tmp_path):
    before = relu(tmp_path / "a.onnx", ["batch", "sequence", 8])
    after = relu(tmp_path / "b.onnx", [1, "sequence", 8])
    assert shapes.fixed_axes(before, after) == ["x[0] (batch -> 1)", "y[0] (batch -> 1)"]
    with pytest.raises(EngineError) as refused:
        shapes.require_dynamic(before, after, "the quantize pass")
    assert refused.value.code == "dynamic_axes_lost"
    assert (
        "the quantize pass fixed dynamic axes" in refused.value.message and "x[0] (batch -> 1)" in refused.value.message
    )


def test_an_unnamed_open_axis_counts_too(tmp_path):
    before = relu(tmp_path / "a.onnx", [None, 8])
    after = relu(tmp_path / "b.onnx", [4, 8])
    assert shapes.fixed_axes(before, after) == ["x[0] (unnamed -> 4)"]  # the output's None is no input's name


def test_an_output_dim_that_shape_inference_resolves_is_not_a_loss(tmp_path):
    before = relu(tmp_path / "a.onnx", ["batch", 8], out_dims=["batch", "unk__3"])
    after = relu(tmp_path / "b.onnx", ["batch", 8], out_dims=["batch", 8])
    assert shapes.fixed_axes(before, after) == []


def test_renamed_symbols_new_outputs_and_fixed_axes_that_stay_fixed_pass(tmp_path):
    before = relu(tmp_path / "a.onnx", ["batch", 8])
    assert shapes.fixed_axes(before, relu(tmp_path / "b.onnx", ["unk__0", 8])) == []  # renamed, still open
    assert shapes.fixed_axes(before, relu(tmp_path / "c.onnx", ["batch", 8], output="head")) == []  # a new output
    assert shapes.fixed_axes(before, relu(tmp_path / "d.onnx", ["batch", 8], out_dims=["batch", 8, 1])) == []
    assert shapes.problem(before, before) is None
