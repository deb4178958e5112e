"""The prune pass on small real models: the graph really shrinks, the result runs in onnxruntime with the
same interface, attention heads go whole, and unstructured sparsity is reported honestly."""

from __future__ import annotations

import functools

import numpy as np
import onnx
import pytest
import torch

from app.core.schemas.recipe import PrunePass, Recipe
from app.core.schemas.report import Report
from tests.engine import prune_models
from tests.engine.pruning import CUDA, interface, layer, prune, run, session
from worker.engine import EngineError


def test_structured_shrinks_a_residual_cnn_with_batch_norm(tmp_path, data):
    model = prune_models.residual_bn_cnn(tmp_path / "res.onnx")
    result = run(
        model,
        data(x=(48, 1, 8, 8)),
        tmp_path / "out",
        passes=[prune(sparsity=0.5, exclude_first_last=False)],
        quality={"min_top1_agreement": 0.0},
    )
    summary = Report.model_validate(result.report).passes[0]
    # the residual Add couples the stem and the block's second conv: they lose the same channels
    assert layer(summary, "stem")["channels_after"] == layer(summary, "block.b")["channels_after"] == 8
    assert layer(summary, "block.a")["channels_after"] == 8 and layer(summary, "down")["channels_after"] == 16
    assert layer(summary, "head")["channels_after"] == 10
    assert {"node": "head", "reason": "its channels reach the model output 'logits'"} in summary["not_pruned"]
    assert any("Reshape 'flatten'" in note and "Flatten" in note for note in summary["notes"])
    before, after = summary["input"], summary["output"]

    def conv_bn(c_in: int, c_out: int) -> int:  # 3x3 weights + batch norm scale, bias, mean, var
        return 9 * c_in * c_out + 4 * c_out

    def params(c: int) -> int:  # stem, block.a, block.b, down (2c), head on the flattened 2c x 2 x 2
        return conv_bn(1, c) + 2 * conv_bn(c, c) + conv_bn(c, 2 * c) + 10 * 2 * c * 4 + 10

    assert before["parameter_count"] == params(16)
    assert summary["parameter_ratio"] == pytest.approx(params(8) / params(16), rel=0.1)
    assert after["macs"] < 0.5 * before["macs"] and after["size_bytes"] < before["size_bytes"]
    out = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(out))
    assert interface(out) == ([("x", ["batch", 1, 8, 8])], ["logits"])
    assert session(out).run(None, {"x": np.zeros((5, 1, 8, 8), np.float32)})[0].shape == (5, 10)
    weights = [i for i in onnx.load(str(out)).graph.initializer if len(i.dims) == 4]
    assert sorted(w.dims[0] for w in weights) == [8, 8, 8, 16]


def test_first_and_last_layers_are_kept_by_default_and_the_residual_partner_with_them(tmp_path, data):
    model = prune_models.residual_bn_cnn(tmp_path / "res.onnx")
    result = run(model, data(x=(32, 1, 8, 8)), tmp_path / "out", passes=[prune()], quality={"min_top1_agreement": 0})
    summary = result.report["passes"][0]
    assert {"node": "stem", "reason": "first weight layer (exclude_first_last)"} in summary["not_pruned"]
    # block.b is added to the stem's output: kept whole because its partner is
    assert layer(summary, "block.b")["channels_after"] == 16 and layer(summary, "block.a")["channels_after"] == 8
    reasons = {row["node"]: row["reason"] for row in summary["not_pruned"]}
    assert "shares its output channels with a layer kept whole" in reasons["block.b"]


def test_structured_mlp_per_layer_and_global_l1(tmp_path, built, data):
    per_layer = run(
        built("mlp"),
        data(x=(48, 32)),
        tmp_path / "per-layer",
        passes=[prune(sparsity=0.5, exclude_first_last=False)],
        quality={"min_top1_agreement": 0.0},
    ).report["passes"][0]
    # 32 -> 64 -> 5: the hidden layer keeps 32 neurons, the output layer (a model output) keeps its 5
    assert per_layer["layers"][0]["channels_after"] == 32
    expected = (32 * 32 + 32 + 32 * 5 + 5) / (32 * 64 + 64 + 64 * 5 + 5)
    assert per_layer["parameter_ratio"] == pytest.approx(expected, rel=0.1)

    result = run(
        built("mlp"),
        data(x=(48, 32)),
        tmp_path / "out",
        passes=[prune(sparsity=0.5, scope="global", importance="l1", exclude_first_last=False)],
        quality={"min_top1_agreement": 0.0},
    )
    summary = result.report["passes"][0]
    assert summary["layers"][0]["channels_before"] == 64 and summary["layers"][0]["channels_after"] < 64
    assert summary["output"]["parameter_count"] < summary["input"]["parameter_count"]
    assert summary["output"]["macs"] < summary["input"]["macs"]
    assert interface(result.artifacts["model.onnx"]) == ([("x", ["batch", 32])], ["logits"])


def test_structured_prunes_heads_and_feed_forward_of_a_transformer_block(tmp_path, built, data):
    # torch's nn.MultiheadAttention: one packed q/k/v projection, heads split and merged by Reshapes
    result = run(
        built("transformer"),
        data(x=(24, 8, 32)),
        tmp_path / "out",
        passes=[prune(sparsity=0.5, exclude_first_last=False)],
        quality={"min_top1_agreement": 0.0},
    )
    summary = result.report["passes"][0]
    widths = {(row["op"], row["channels_before"]): row["channels_after"] for row in summary["layers"]}
    assert widths[("MatMul", 128)] == 64  # the feed-forward hidden layer
    assert widths[("MatMul", 96)] == 48  # packed q/k/v: 2 of 4 heads, in each of q, k and v
    [block] = summary["attention_heads"]
    assert (block["heads_before"], block["heads_after"], block["head_dim"]) == (4, 2, 8)
    assert len(block["nodes"]) == 1 and len(block["readers"]) == 1
    # removed: half of q/k/v (+bias), the output projection's inputs from those heads, half the feed-forward
    removed = (32 * 48 + 48) + 16 * 32 + (32 * 64 + 64) + 64 * 32
    before = summary["input"]["parameter_count"]
    expected = (before - removed) / before
    assert summary["parameter_ratio"] == pytest.approx(expected, rel=0.1)
    reasons = " ".join(row["reason"] for row in summary["not_pruned"])
    assert "no prunable layer produces" in reasons  # the residual stream carries the model input
    assert block["nodes"][0] not in {row["node"] for row in summary["not_pruned"]}
    out = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(out))
    assert interface(out) == ([("x", ["batch", 8, 32])], ["logits"])
    assert session(out).run(None, {"x": np.zeros((3, 8, 32), np.float32)})[0].shape == (3, 5)


def test_attention_heads_of_hand_written_blocks(tmp_path, data):
    """Separate q/k/v layers, view/transpose, scaled_dot_product_attention: two blocks lose heads."""
    model = prune_models.split_qkv_attention(tmp_path / "attn.onnx")
    dataset = data(x=(24, 6, 8))
    result = run(model, dataset, tmp_path / "out", passes=[prune(sparsity=0.5)], quality={"min_top1_agreement": 0})
    summary = result.report["passes"][0]
    blocks = summary["attention_heads"]
    assert [(b["heads_before"], b["heads_after"], len(b["nodes"]), len(b["readers"])) for b in blocks] == [
        (4, 2, 3, 1),
        (4, 2, 3, 1),
    ]
    for block in blocks:
        assert all(layer(summary, node)["channels_after"] == 16 for node in block["nodes"])
    # the embedding (first layer) is kept whole, so is the residual stream; per block: q, k, v (+bias) lose
    # half, the output projection half its inputs, the feed-forward half its hidden width
    removed = 2 * (3 * (32 * 16 + 16) + 16 * 32 + (32 * 32 + 32) + 32 * 32)
    before = summary["input"]["parameter_count"]
    assert summary["parameter_ratio"] == pytest.approx((before - removed) / before, rel=0.1)
    out = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(out))
    assert interface(out) == ([("x", ["batch", 6, 8])], ["logits"])
    assert session(out).run(None, {"x": np.zeros((5, 6, 8), np.float32)})[0].shape == (5, 3)

    # a projection kept whole keeps its block's heads, and the report says why
    kept = blocks[0]["nodes"][0]
    again = run(
        model,
        dataset,
        tmp_path / "out2",
        passes=[prune(sparsity=0.5, nodes_to_exclude=[kept])],
        quality={"min_top1_agreement": 0},
    ).report["passes"][0]
    assert [b["nodes"] for b in again["attention_heads"]] == [blocks[1]["nodes"]]
    reasons = {row["node"]: row["reason"] for row in again["not_pruned"]}
    assert f"attention heads kept whole: {kept!r} is kept whole (listed in nodes_to_exclude)" in reasons[kept]

    # Taylor importance ranks heads by |weight x gradient| (here from the model's own predictions)
    taylor = run(
        model,
        dataset,
        tmp_path / "out4",
        passes=[prune(sparsity=0.5, importance="taylor")],
        quality={"min_top1_agreement": 0},
    ).report["passes"][0]
    assert any("attention heads ranked by Taylor importance" in note for note in taylor["notes"])
    assert [b["heads_after"] for b in taylor["attention_heads"]] == [2, 2]

    # and heads can be left alone altogether
    plain = run(
        model,
        dataset,
        tmp_path / "out3",
        passes=[prune(sparsity=0.5, attention_heads=False)],
        quality={"min_top1_agreement": 0},
    ).report["passes"][0]
    assert plain["attention_heads"] == []
    assert all(layer(plain, node)["channels_after"] == 32 for node in blocks[0]["nodes"])


def test_attention_heads_with_computed_reshape_targets(tmp_path, data):
    """The TorchScript exporter builds ``view(b, s, heads, head_dim)`` targets at run time with Concat; the
    constant head count in them is rewritten (on a copy of the Concat per Reshape)."""
    model = prune_models.split_qkv_attention(tmp_path / "legacy.onnx", legacy=True)
    concats = [n for n in onnx.load(str(model)).graph.node if n.op_type == "Concat"]
    assert concats  # the targets really are computed in this graph
    result = run(model, data(x=(24, 6, 8)), tmp_path / "out", passes=[prune()], quality={"min_top1_agreement": 0})
    summary = result.report["passes"][0]
    assert [(b["heads_before"], b["heads_after"]) for b in summary["attention_heads"]] == [(4, 2), (4, 2)]
    assert not any("attention heads kept whole" in row["reason"] for row in summary["not_pruned"])
    out = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(out))
    assert session(out).run(None, {"x": np.zeros((3, 6, 8), np.float32)})[0].shape == (3, 3)


def test_attention_heads_of_a_packed_projection_cut_by_slices(tmp_path, data):
    """paddle2onnx's form (PP-OCR): q, k, v are Slices of one packed projection; the merge target is
    Concat(Cast(Constant))."""
    model = prune_models.packed_slice_attention(tmp_path / "packed.onnx")
    result = run(
        model,
        data(x=(24, 5, 24)),
        tmp_path / "out",
        passes=[prune(exclude_first_last=False)],
        quality={"min_top1_agreement": 0},
    )
    summary = result.report["passes"][0]
    assert summary["attention_heads"] == [
        {
            "nodes": ["qkv"],
            "readers": ["proj"],
            "heads_before": 4,
            "heads_after": 2,
            "head_dim": 6,
            "kept_heads": summary["attention_heads"][0]["kept_heads"],
        }
    ]
    assert layer(summary, "qkv")["channels_after"] == 36  # 3 x 2 heads x 6
    out = result.artifacts["model.onnx"]
    onnx.checker.check_model(str(out))
    assert session(out).run(None, {"x": np.zeros((3, 5, 24), np.float32)})[0].shape == (3, 3)


def test_open_input_axes_stay_open(tmp_path, data):
    """A conv net that takes any image size (open height and width) still does after pruning."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.standard_normal((16, 1, 3, 3)),
        "w2": rng.standard_normal((16, 16, 3, 3)) * 0.2,
        "fc": rng.standard_normal((4, 16)),
        "fc_b": np.zeros(4),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc", "fc_b"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "any_size",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    model = tmp_path / "any_size.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    result = run(
        model,
        data(x=(24, 1, 10, 12)),
        tmp_path / "out",
        passes=[prune(exclude_first_last=False)],
        quality={"min_top1_agreement": 0},
    )
    summary = result.report["passes"][0]
    assert layer(summary, "conv1")["channels_after"] == 8 and summary["fixed_input_axes"] == []
    out = result.artifacts["model.onnx"]
    [(name, shape)] = interface(out)[0]
    assert name == "x" and shape[1] == 1 and all(isinstance(d, str) for d in (shape[0], shape[2], shape[3]))
    for size in ((7, 9), (20, 5)):
        assert session(out).run(None, {"x": np.zeros((2, 1, *size), np.float32)})[0].shape == (2, 4)


def test_head_digits_follow_reshapes():
    from worker.engine.passes.prune.head_trace import Factor, regroup

    channels = Factor(96, "qkv")
    # [seq, batch, 96] -> [seq, batch, 3, 32] -> (pick q) -> [seq, batch * 4, 8]
    packed = regroup([(Factor(8),), (Factor(2),), (channels,)], (8, 2, 3, 32))
    assert packed == [(Factor(8),), (Factor(2),), (Factor(3, "qkv", 32),), (Factor(32, "qkv", 1),)]
    heads = regroup([(Factor(8),), (Factor(2),), packed[3]], (8, 8, 8))
    assert heads == [(Factor(8),), (Factor(2), Factor(4, "qkv", 8)), (Factor(8, "qkv", 1),)]
    assert regroup([(Factor(6),)], (4,)) is None  # sizes that do not fit


def test_unstructured_reports_sparsity_per_layer_and_compressed_size(tmp_path, data):
    model = prune_models.residual_bn_cnn(tmp_path / "res.onnx")
    result = run(
        model,
        data(x=(32, 1, 8, 8)),
        tmp_path / "out",
        passes=[prune(method="unstructured", sparsity=0.8, scope="per_layer")],
        quality={"min_top1_agreement": 0.0},
    )
    summary = result.report["passes"][0]
    rows = {row["node"]: row for row in summary["layers"]}
    assert set(rows) == {"block.a", "block.b", "down"}  # stem and head excluded (first/last)
    assert all(abs(row["sparsity"] - 0.8) < 0.01 for row in rows.values())
    weights = {
        i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(result.artifacts["model.onnx"])).graph.initializer
    }
    assert abs(np.mean(weights["down.weight"] == 0) - 0.8) < 0.01 and np.mean(weights["stem.weight"] == 0) == 0
    compressed = summary["compressed_size_bytes"]
    assert compressed["output"] < 0.7 * compressed["input"]
    assert summary["output"]["parameter_count"] == summary["input"]["parameter_count"]  # same dense tensors
    assert any("no speedup on dense runtimes" in w for w in result.report["warnings"])
    assert result.report["optimized"]["sparsity"] > 0.5


def test_an_unliftable_op_is_a_clear_error(tmp_path, built, data):
    with pytest.raises(EngineError) as info:
        run(built("if"), data(x=(16, 8)), tmp_path / "out", passes=[prune()])
    assert info.value.code == "unsupported_op"
    # the first node without a converter is named, with its op type
    assert "ONNX op 'Greater' (node 'gt')" in info.value.message
    assert "method: unstructured" in info.value.message
    with pytest.raises(EngineError) as info:
        run(built("if"), data(x=(16, 8)), tmp_path / "out2", passes=[prune(method="unstructured", finetune={})])
    assert info.value.message.startswith("fine-tuning cannot lift ONNX op 'Greater'")


def test_the_recipe_schema_validates_prune_options():
    recipe = Recipe.model_validate({"passes": [{"type": "prune", "sparsity": 0.3, "finetune": {"epochs": 1}}]})
    assert isinstance(recipe.passes[0], PrunePass) and recipe.passes[0].finetune is not None
    with pytest.raises(ValueError):
        Recipe.model_validate({"passes": [{"type": "prune", "sparsity": 1.0}]})
    with pytest.raises(ValueError):
        Recipe.model_validate({"passes": [{"type": "prune", "importance": "random"}]})


def test_a_lift_that_disagrees_with_onnxruntime_is_refused(built):
    import torch

    from worker.engine.lift import lift, verify

    model = onnx.load(str(built("cnn")))
    module = lift(model).module
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    expected = session(built("cnn")).run(None, {"x": x})
    verify(module, (torch.from_numpy(x),), expected, ["logits"])  # the faithful lift passes
    with pytest.raises(EngineError) as info:
        verify(module, (torch.from_numpy(x),), [expected[0] + 0.5], ["logits"])
    assert info.value.code == "lift_mismatch" and "output 'logits'" in info.value.message


LIFTED_MODELS = {
    "residual_cnn": (prune_models.residual_bn_cnn, (2, 1, 8, 8)),
    "split_qkv": (prune_models.split_qkv_attention, (2, 6, 8)),
    # the TorchScript exporter computes the attention scale from the input's shape: Shape -> Slice -> Cast -> Sqrt
    "split_qkv_torchscript": (functools.partial(prune_models.split_qkv_attention, legacy=True), (2, 6, 8)),
    "packed_slices": (prune_models.packed_slice_attention, (2, 5, 24)),
}


@pytest.mark.parametrize("device", ["meta", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("name", sorted(LIFTED_MODELS))
def test_a_lifted_model_runs_where_its_weights_are(tmp_path, name, device):
    """Fine-tuning moves the lifted model to the GPU: tensors it makes from shape values must follow it.

    PyTorch's meta device applies the same rule as CUDA (no CPU tensor but a 0-d one may meet it), so
    this runs on every machine; on a GPU machine the cuda case also checks the numbers.
    """
    from worker.engine.lift import lift

    build, shape = LIFTED_MODELS[name]
    module = lift(onnx.load(str(build(tmp_path / f"{name}.onnx")))).module
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    with torch.no_grad():
        expected = module(x)
        module.to(device)
        got = module(x.to(device))
    assert got.device.type == device and got.shape == expected.shape
    if device != "meta":
        assert torch.allclose(got.cpu(), expected, rtol=1e-4, atol=1e-5)


def test_nothing_to_prune_returns_the_input_and_says_why(tmp_path, built, data):
    # a two-layer MLP: the first layer is excluded by default, the last one produces the output
    result = run(built("mlp"), data(x=(32, 32)), tmp_path / "out", passes=[prune()])
    summary = result.report["passes"][0]
    assert {row["reason"] for row in summary["not_pruned"]} == {
        "first weight layer (exclude_first_last)",
        "its channels reach the model output 'logits'",
    }
    assert any("removed no channels" in w and "unchanged" in w for w in result.report["warnings"])
    assert result.report["unchanged"] is True
