"""Models for the prune pass tests: built (and where it matters, trained) by the tests themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1)


def _conv_bn(prefix: str, source: str, c_in: int, c_out: int, stride: int = 1) -> tuple[list, list, str]:
    """Conv (no bias) -> BatchNormalization, as exporters write them before fusion."""
    w = (RNG.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2.0 / (9 * c_in))).astype(np.float32)
    inits = [
        numpy_helper.from_array(w, f"{prefix}.weight"),
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c_out).astype(np.float32), f"{prefix}.bn.scale"),
        numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c_out).astype(np.float32), f"{prefix}.bn.bias"),
        numpy_helper.from_array(RNG.uniform(-0.1, 0.1, c_out).astype(np.float32), f"{prefix}.bn.mean"),
        numpy_helper.from_array(RNG.uniform(0.5, 1.5, c_out).astype(np.float32), f"{prefix}.bn.var"),
    ]
    nodes = [
        helper.make_node(
            "Conv", [source, f"{prefix}.weight"], [f"{prefix}.c"], pads=[1, 1, 1, 1], strides=[stride] * 2, name=prefix
        ),
        helper.make_node(
            "BatchNormalization",
            [f"{prefix}.c", *(f"{prefix}.bn.{k}" for k in ("scale", "bias", "mean", "var"))],
            [f"{prefix}.bn"],
            name=f"{prefix}_bn",
        ),
    ]
    return nodes, inits, f"{prefix}.bn"


def residual_bn_cnn(path: Path, *, channels: int = 16) -> Path:
    """stem conv-bn-relu -> residual block (conv-bn-relu-conv-bn + skip) -> strided conv-bn-relu -> max pool
    -> Reshape([-1, K], allowzero=1: a constant target shape) -> Gemm; opset 18, dynamic batch."""
    nodes, inits = [], []
    n, i, stem = _conv_bn("stem", "x", 1, channels)
    nodes += [*n, helper.make_node("Relu", [stem], ["stem.r"], name="stem_relu")]
    inits += i
    n, i, a = _conv_bn("block.a", "stem.r", channels, channels)
    nodes += [*n, helper.make_node("Relu", [a], ["block.a.r"], name="block_a_relu")]
    inits += i
    n, i, b = _conv_bn("block.b", "block.a.r", channels, channels)
    nodes += [*n, helper.make_node("Add", ["stem.r", b], ["res"], name="residual_add")]
    nodes.append(helper.make_node("Relu", ["res"], ["res.r"], name="res_relu"))
    inits += i
    n, i, d = _conv_bn("down", "res.r", channels, 2 * channels, stride=2)
    nodes += [*n, helper.make_node("Relu", [d], ["down.r"], name="down_relu")]
    inits += i
    nodes.append(helper.make_node("MaxPool", ["down.r"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], name="pool"))
    features = 2 * channels * 2 * 2
    nodes.append(helper.make_node("Reshape", ["pool", "flat_shape"], ["flat"], allowzero=1, name="flatten"))
    nodes.append(helper.make_node("Gemm", ["flat", "head.weight", "head.bias"], ["logits"], transB=1, name="head"))
    inits += [
        numpy_helper.from_array(np.array([-1, features], np.int64), "flat_shape"),
        numpy_helper.from_array((RNG.standard_normal((10, features)) * 0.1).astype(np.float32), "head.weight"),
        numpy_helper.from_array(np.zeros(10, np.float32), "head.bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "residual_bn_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's real 8×8 handwritten digits: x [1797, 1, 8, 8] float32 in 0..1, labels int64."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]
    return x, data.target.astype(np.int64)


def small_cnn(classes: int) -> Any:
    """A small CNN for 8×8 digits: conv16-conv32-pool-fc64-fc``classes`` (the transfer tests' and benchmark's)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(512, 64),
        nn.ReLU(),
        nn.Linear(64, classes),
    )


def trained_digits_cnn(path: Path, x: np.ndarray, y: np.ndarray, *, epochs: int = 8) -> Path:
    """A conv net trained on the digits, exported to ONNX (input ``x``, output ``logits``, dynamic batch)."""
    import torch
    from torch import nn

    from tests.factories import export_onnx

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for batch in torch.randperm(len(xs), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(xs[batch]), ys[batch]).backward()
            optimizer.step()
    return export_onnx(net, (xs[:2],), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)


def split_qkv_attention(
    path: Path, *, dim: int = 32, heads: int = 4, seq: int = 6, layers: int = 2, legacy: bool = False
) -> Path:
    """Transformer blocks written by hand, as many user models are: separate q/k/v Linear layers,
    ``view(B, S, H, D).transpose(1, 2)``, scaled_dot_product_attention, heads merged by ``reshape``.

    ``legacy``: export with the TorchScript exporter (``dynamo=False``), whose Reshape targets are built at
    run time by Concat(Shape pieces, constant [heads], constant [head_dim]) as in many published models.
    """
    import torch
    from torch import nn

    from tests.factories import export_onnx

    torch.manual_seed(1)

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
            self.out = nn.Linear(dim, dim)

        def forward(self, x):  # type: ignore[no-untyped-def]
            b, s, _ = x.shape
            q, k, v = (p(x).view(b, s, heads, dim // heads).transpose(1, 2) for p in (self.q, self.k, self.v))
            y = nn.functional.scaled_dot_product_attention(q, k, v)
            return self.out(y.transpose(1, 2).reshape(b, s, dim))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = Attention()
            self.ff = nn.Sequential(nn.Linear(dim, dim * 2), nn.ReLU(), nn.Linear(dim * 2, dim))

        def forward(self, x):  # type: ignore[no-untyped-def]
            x = x + self.attn(self.norm1(x))
            return x + self.ff(self.norm2(x))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(8, dim)
            self.blocks = nn.Sequential(*(Block() for _ in range(layers)))
            self.head = nn.Linear(dim, 3)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.head(self.blocks(self.embed(x)).mean(dim=1))

    example = torch.randn(2, seq, 8)
    if legacy:
        torch.onnx.export(
            Net().eval(),
            (example,),
            str(path),
            input_names=["x"],
            output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
        return path
    return export_onnx(Net().eval(), (example,), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)


def packed_slice_attention(path: Path, *, dim: int = 24, heads: int = 4, seq: int = 5) -> Path:
    """Attention as paddle2onnx writes it (PP-OCR's SVTR blocks): one packed q/k/v MatMul, Reshape to
    [0, -1, 3, heads, head_dim], Transpose, Slice + Squeeze to pick q, k and v, and the heads merged by a
    Reshape whose target is Concat(Cast(Constant)) pieces; opset 13, dynamic batch."""
    d = dim // heads
    rng = np.random.default_rng(3)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    nodes = [
        helper.make_node("MatMul", ["x", "qkv.w"], ["qkv.mm"], name="qkv"),
        helper.make_node("Add", ["qkv.mm", "qkv.b"], ["qkv.out"], name="qkv_bias"),
        helper.make_node("Reshape", ["qkv.out", "split_shape"], ["qkv.5d"], name="split_heads"),
        helper.make_node("Transpose", ["qkv.5d"], ["qkv.t"], perm=[2, 0, 3, 1, 4], name="to_heads"),
    ]
    for i, part in enumerate("qkv"):
        nodes += [
            helper.make_node("Slice", ["qkv.t", f"s{i}", f"e{i}", "axis0"], [f"{part}.s"], name=f"slice_{part}"),
            helper.make_node("Squeeze", [f"{part}.s", "axis0"], [part], name=f"squeeze_{part}"),
        ]
    nodes += [
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2], name="k_t"),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"], name="scale_scores"),
        helper.make_node("Softmax", ["scaled"], ["attn"], axis=-1, name="softmax"),
        helper.make_node("MatMul", ["attn", "v"], ["ctx"], name="av"),
        helper.make_node("Transpose", ["ctx"], ["ctx.t"], perm=[0, 2, 1, 3], name="merge_t"),
        helper.make_node("Constant", [], ["m0"], value=numpy_helper.from_array(np.array([0], np.int32)), name="m0c"),
        helper.make_node("Constant", [], ["m1"], value=numpy_helper.from_array(np.array([-1], np.int32)), name="m1c"),
        helper.make_node("Constant", [], ["m2"], value=numpy_helper.from_array(np.array([dim], np.int32)), name="m2c"),
        *(helper.make_node("Cast", [f"m{i}"], [f"m{i}.64"], to=TensorProto.INT64, name=f"cast{i}") for i in range(3)),
        helper.make_node("Concat", ["m0.64", "m1.64", "m2.64"], ["merge_shape"], axis=0, name="merge_concat"),
        helper.make_node("Reshape", ["ctx.t", "merge_shape"], ["merged"], name="merge_heads"),
        helper.make_node("MatMul", ["merged", "proj.w"], ["proj.mm"], name="proj"),
        helper.make_node("Add", ["proj.mm", "proj.b"], ["proj.out"], name="proj_bias"),
        helper.make_node("Add", ["x", "proj.out"], ["res"], name="residual"),
        helper.make_node("ReduceMean", ["res"], ["pooled"], axes=[1], keepdims=0, name="pool"),
        helper.make_node("Gemm", ["pooled", "head.w", "head.b"], ["logits"], transB=1, name="head"),
    ]
    ints = {
        "split_shape": [0, -1, 3, heads, d],
        **{f"s{i}": [i] for i in range(3)},
        **{f"e{i}": [i + 1] for i in range(3)},
        "axis0": [0],
    }
    inits = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in ints.items()]
    inits += [
        numpy_helper.from_array(w(dim, 3 * dim), "qkv.w"),
        numpy_helper.from_array(w(3 * dim, scale=0.05), "qkv.b"),
        numpy_helper.from_array(np.array(d**-0.5, np.float32), "scale"),
        numpy_helper.from_array(w(dim, dim), "proj.w"),
        numpy_helper.from_array(w(dim, scale=0.05), "proj.b"),
        numpy_helper.from_array(w(3, dim), "head.w"),
        numpy_helper.from_array(np.zeros(3, np.float32), "head.b"),
    ]
    graph = helper.make_graph(
        nodes,
        "packed_slice_attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, dim])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path
