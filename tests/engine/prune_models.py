"""Models for the prune pass tests: built (and where it matters, trained) by the tests themselves."""

from __future__ import annotations

from pathlib import Path

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


def trained_digits_cnn(path: Path, x: np.ndarray, y: np.ndarray, *, epochs: int = 8) -> Path:
    """A conv net trained on the digits, exported to ONNX (input ``x``, output ``logits``, dynamic batch)."""
    import torch
    from torch import nn

    from tests.factories import _export

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
    return _export(net, (xs[:2],), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)


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

    from tests.factories import _export

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
    return _export(Net().eval(), (example,), path, input_names=["x"], output_names=["logits"], dynamic_batch=True)
