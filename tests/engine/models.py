"""Small ONNX graphs that reproduce what real exported models do to quantizers (built by the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array((RNG.standard_normal(shape) * 0.2).astype(np.float32), name)


def _save(graph: onnx.GraphProto, path: Path, opset: int = 17) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 15 else 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def mlp_with_constant_weights(path: Path) -> Path:
    """Weights held in Constant nodes instead of initializers (dynamic quantization refuses those)."""
    w1, w2 = _weight("w1", 16, 32), _weight("w2", 32, 4)
    nodes = [
        helper.make_node("Constant", [], ["w1"], value=w1, name="c1"),
        helper.make_node("Constant", [], ["w2"], value=w2, name="c2"),
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm1"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="mm2"),
    ]
    graph = helper.make_graph(
        nodes,
        "const_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    return _save(graph, path)


def conv_opset11(path: Path) -> Path:
    """An opset-11 conv net (per-channel QDQ needs opset 13)."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten"),
    ]
    inits = [_weight("w1", 8, 1, 3, 3), _weight("b1", 8), _weight("w2", 6, 8, 3, 3), _weight("b2", 6)]
    graph = helper.make_graph(
        nodes,
        "conv11",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6])],
        inits,
    )
    return _save(graph, path, opset=11)


def with_if_node(path: Path) -> Path:
    """A MatMul followed by an If whose branches hold their own ops (control flow)."""
    then_graph = helper.make_graph(
        [helper.make_node("Relu", ["h"], ["then_out"], name="then_relu")],
        "then",
        [],
        [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, ["batch", 8])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["h"], ["else_out"], name="else_neg")],
        "else",
        [],
        [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, ["batch", 8])],
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0, name="sum"),
        helper.make_node("ReduceSum", ["s"], ["total"], keepdims=0, name="sum_all"),
        helper.make_node("Greater", ["total", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="branch"),
    ]
    inits = [_weight("w", 8, 8), numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    graph = helper.make_graph(
        nodes,
        "if_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        inits,
    )
    return _save(graph, path)


def two_inputs(path: Path) -> Path:
    """Two inputs and two outputs."""
    nodes = [
        helper.make_node("MatMul", ["a", "wa"], ["ha"], name="mm_a"),
        helper.make_node("MatMul", ["b", "wb"], ["hb"], name="mm_b"),
        helper.make_node("Add", ["ha", "hb"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["y"], name="relu"),
        helper.make_node("Sigmoid", ["hb"], ["gate"], name="gate"),
    ]
    graph = helper.make_graph(
        nodes,
        "two_in",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 12]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 6]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10]),
            helper.make_tensor_value_info("gate", TensorProto.FLOAT, ["batch", 10]),
        ],
        [_weight("wa", 12, 10), _weight("wb", 6, 10)],
    )
    return _save(graph, path)


def decomposed_layernorm(path: Path) -> Path:
    """MatMul -> LayerNorm written out as arithmetic (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div) -> MatMul."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm1"),
        helper.make_node("ReduceMean", ["h"], ["mean"], axes=[-1], keepdims=1, name="ln_mean"),
        helper.make_node("Sub", ["h", "mean"], ["centered"], name="ln_sub"),
        helper.make_node("Pow", ["centered", "two"], ["sq"], name="ln_pow"),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1], keepdims=1, name="ln_var"),
        helper.make_node("Add", ["var", "eps"], ["var_eps"], name="ln_add"),
        helper.make_node("Sqrt", ["var_eps"], ["std"], name="ln_sqrt"),
        helper.make_node("Div", ["centered", "std"], ["normed"], name="ln_div"),
        helper.make_node("MatMul", ["normed", "w2"], ["y"], name="mm2"),
    ]
    inits = [
        _weight("w1", 16, 32),
        _weight("w2", 32, 8),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
    ]
    graph = helper.make_graph(
        nodes,
        "ln",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        inits,
    )
    return _save(graph, path, opset=17)


def duplicate_names(path: Path) -> Path:
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="layer"),
        helper.make_node("Relu", ["h"], ["r"], name="layer"),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name=""),
    ]
    graph = helper.make_graph(
        nodes,
        "dups",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [_weight("w1", 8, 16), _weight("w2", 16, 4)],
    )
    return _save(graph, path)


def recurrent_state(path: Path) -> Path:
    """A step of a recurrent model: (x, state) -> (y, new_state); the state must not be quantized."""
    nodes = [
        helper.make_node("MatMul", ["x", "wx"], ["hx"], name="mm_x"),
        helper.make_node("MatMul", ["state", "ws"], ["hs"], name="mm_state"),
        helper.make_node("Add", ["hx", "hs"], ["pre"], name="add"),
        helper.make_node("Tanh", ["pre"], ["new_state"], name="tanh"),
        helper.make_node("MatMul", ["new_state", "wo"], ["y"], name="mm_out"),
    ]
    graph = helper.make_graph(
        nodes,
        "rnn_step",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, ["batch", 16]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("new_state", TensorProto.FLOAT, ["batch", 16]),
        ],
        [_weight("wx", 8, 16), _weight("ws", 16, 16), _weight("wo", 16, 4)],
    )
    return _save(graph, path)


def transformer_block(path: Path, *, dim: int = 32, heads: int = 4, seq: int = 8) -> Path:
    """A pre-norm transformer encoder block exported from torch (attention + feed-forward)."""
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))
            self.head = nn.Linear(dim, 5)

        def forward(self, x):  # type: ignore[no-untyped-def]
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            x = x + self.ff(self.norm2(x))
            return self.head(x.mean(dim=1))

    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.onnx.export(
        Block().eval(),
        (torch.randn(2, seq, dim),),
        str(path),
        input_names=["x"],
        output_names=["logits"],
        dynamic_shapes=({0: batch},),
        external_data=False,
        dynamo=True,
    )
    return path


def outlier_channel_mlp(path: Path) -> Path:
    """An MLP whose hidden activation has one channel ~1000× larger than the rest (scaled back down after).

    In float the output is ordinary; int8 with one scale per activation tensor rounds every other
    channel of that activation to zero, so the model breaks unless the nodes around it stay in float.
    The wide first layer is harmless to quantize and holds most of the weights.
    """
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((64, 256)) * 0.15).astype(np.float32)
    w2 = (rng.standard_normal((256, 32)) * 0.1).astype(np.float32)
    w3 = (rng.standard_normal((32, 10)) * 1.0).astype(np.float32)
    w2[:, 0] *= 1000.0
    w3[0, :] /= 1000.0
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="mm1"),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node("MatMul", ["r1", "w2"], ["h2"], name="mm2"),
        helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
        helper.make_node("MatMul", ["r2", "w3"], ["logits"], name="mm3"),
    ]
    graph = helper.make_graph(
        nodes,
        "outlier_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"))],
    )
    return _save(graph, path)


def sequence_regressor(path: Path) -> Path:
    """[batch, 6, 16] -> [batch, 6, 8]: two per-position projections with a non-classifier output (judged by
    cosine). Every node it has adds int8 rounding error, so no quantized variant reproduces it exactly."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="mm1"),
        helper.make_node("MatMul", ["h", "w2"], ["y"], name="mm2"),
    ]
    graph = helper.make_graph(
        nodes,
        "seq_regressor",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6, 8])],
        [_weight("w1", 16, 32), _weight("w2", 32, 8)],
    )
    return _save(graph, path)
