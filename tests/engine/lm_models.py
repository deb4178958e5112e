"""Token models built from transformers configs (nothing from a hub), exported to ONNX by torch's dynamo exporter.

- ``gpt2_decoder``: a GPT-2-style decoder without a KV cache, one input ``input_ids`` [batch, sequence] and one
  output ``logits`` [batch, sequence, vocabulary], briefly trained on a repeating token pattern (so its
  next-token predictions are confident and int4 fidelity means something; random weights give near-flat logits).
- ``text_decoder``: a byte-level GPT-2-style decoder trained for seconds on real text available offline (the
  docstrings of a fixed list of standard-library modules), exported twice with the same weights: with a KV
  cache (``past_key_values.*`` -> ``present.*``, flat tensors built into a ``DynamicCache`` inside a wrapper)
  and without one. ``text_tokens`` cuts held-out windows of the same text into token datasets.
- ``tiny_cache_lm``: a hand-made ONNX graph with a KV-cache decoder's signature, built in milliseconds for API
  and service tests.

The BERT-style encoder (a token model with no vocabulary output) is tests/engine/encoder_models.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

VOCAB = 512
PERIOD = 7  # the training text repeats a 7-token phrase at random offsets


def token_data(samples: int, sequence: int, seed: int = 0) -> np.ndarray:
    """[samples, sequence] int64 ids: a fixed phrase repeated, each row at a random offset, some noise."""
    rng = np.random.default_rng(seed)
    phrase = np.random.default_rng(1).integers(0, VOCAB, size=PERIOD)
    offsets = rng.integers(0, PERIOD, size=samples)
    ids = phrase[(np.arange(sequence)[None, :] + offsets[:, None]) % PERIOD]
    noise = rng.random(ids.shape) < 0.1
    return np.where(noise, rng.integers(0, VOCAB, size=ids.shape), ids).astype(np.int64)


def gpt2_decoder(
    path: Path,
    *,
    layers: int = 2,
    width: int = 64,
    heads: int = 4,
    vocab: int = VOCAB,
    positions: int = 128,
    train_steps: int = 15,
    seed: int = 0,
) -> Path:
    """Build, train for ``train_steps`` (0: random weights) and export a GPT-2-style decoder to ``path``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        n_layer=layers, n_embd=width, n_head=heads, vocab_size=vocab, n_positions=positions, use_cache=False
    )
    model = GPT2LMHeadModel(config)
    if train_steps:
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        for step in range(train_steps):
            batch = torch.from_numpy(token_data(8, 32, seed=step) % vocab)
            loss = model(input_ids=batch, labels=batch, use_cache=False).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()

    return export_logits(model, path, positions=positions, external_data=True)


# -- a decoder trained on real text, exported with and without a KV cache ---------------------------------------

TEXT_MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "csv", "difflib", "fractions", "functools",
    "heapq", "json", "pathlib", "random", "shlex", "statistics", "string", "textwrap",
)  # fmt: skip
BOS, PAD = 256, 257  # byte-level tokens: 0..255 are the bytes, then two specials
TEXT_VOCAB = 258
HELD_OUT = 0.1  # the text's last tenth is never trained on: the evaluation windows come from it


@functools.cache
def stdlib_text() -> bytes:
    """The docstrings of a fixed list of standard-library modules and their public members, as UTF-8 bytes.

    Real English (and some code) that is on every machine with this Python: deterministic for one Python version.
    """
    import importlib
    import inspect

    parts: list[str] = []
    for name in TEXT_MODULES:
        module = importlib.import_module(name)
        parts.append(inspect.getdoc(module) or "")
        for attr in sorted(vars(module)):
            member = getattr(module, attr)
            if attr.startswith("_") or getattr(member, "__module__", None) != name:
                continue
            doc = inspect.getdoc(member)
            if doc:
                parts.append(doc)
    return "\n\n".join(parts).encode("utf-8")


def text_tokens(
    samples: int, sequence: int, *, seed: int = 0, held_out: bool = True, padded: bool = False
) -> dict[str, np.ndarray]:
    """``input_ids`` [samples, sequence] int64: windows of the text, each starting with BOS.

    ``held_out`` draws from the text's last tenth (never trained on), else from the rest. ``padded`` cuts
    every other row short at a random length, pads it with PAD and adds ``attention_mask`` (1 = a real token).
    """
    text = np.frombuffer(stdlib_text(), np.uint8).astype(np.int64)
    cut = int(len(text) * (1 - HELD_OUT))
    source = text[cut:] if held_out else text[:cut]
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(source) - sequence, size=samples)
    ids = np.stack([np.r_[BOS, source[s : s + sequence - 1]] for s in starts])
    if not padded:
        return {"input_ids": ids}
    lengths = np.where(np.arange(samples) % 2 == 1, rng.integers(sequence // 2, sequence, size=samples), sequence)
    mask = (np.arange(sequence)[None, :] < lengths[:, None]).astype(np.int64)
    return {"input_ids": np.where(mask == 1, ids, PAD), "attention_mask": mask}


@dataclass(frozen=True)
class TextDecoder:
    """One trained decoder, exported twice: with a KV cache and without one (the same weights)."""

    cache: Path  # input_ids, attention_mask, past_key_values.{i}.key/value -> logits, present.{i}.key/value
    plain: Path  # input_ids -> logits
    layers: int
    heads: int
    head_dim: int
    train_loss: float  # mean cross-entropy of the last training steps (nats per byte)
    torch_model: Any  # the trained transformers model itself (eval mode), for checks against it


def train_text_decoder(
    *, layers: int = 2, width: int = 64, heads: int = 4, positions: int = 128, steps: int = 300, seed: int = 0
) -> tuple[Any, float]:
    """A GPT-2-style byte-level decoder trained for ``steps`` batches of 32 windows of 32 bytes on the standard
    library's docstrings (about 8 s on one core; a cross-entropy near 3 nats per byte: bigram-like, confident
    enough that its next-token predictions mean something). Returns the model and its last training loss."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread, and the test machines are shared
    config = GPT2Config(
        n_layer=layers, n_embd=width, n_head=heads, vocab_size=TEXT_VOCAB, n_positions=positions,
        bos_token_id=BOS, eos_token_id=BOS, pad_token_id=PAD,
    )  # fmt: skip
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    try:
        for step in range(steps):
            batch = torch.from_numpy(text_tokens(32, 32, seed=1000 + step, held_out=False)["input_ids"])
            loss = model(input_ids=batch, labels=batch, use_cache=False).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    finally:
        torch.set_num_threads(threads)
    return model.eval(), float(np.mean(losses[-10:]))


def text_decoder(root: Path, **options: Any) -> TextDecoder:
    """Train a byte-level decoder on real text and export it with and without a KV cache into ``root``."""
    model, loss = train_text_decoder(**options)
    config = model.config
    cache = export_with_cache(model, root / "text-cache.onnx")
    plain = export_logits(model, root / "text-plain.onnx", positions=config.n_positions)
    return TextDecoder(cache, plain, config.n_layer, config.n_head, config.n_embd // config.n_head, loss, model)


def export_logits(model: Any, path: Path, *, positions: int, external_data: bool = False) -> Path:
    """``input_ids`` [batch, sequence] -> ``logits`` [batch, sequence, vocabulary], no cache (``external_data``:
    the weights in a ``.data`` file beside it, as torch's exporter does by default)."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, lm: torch.nn.Module) -> None:
            super().__init__()
            self.lm = lm

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.lm(input_ids=input_ids, use_cache=False).logits

    example = torch.randint(0, model.config.vocab_size, (2, 16))
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=positions)}
    with torch.no_grad():
        torch.onnx.export(
            Logits(model).eval(), (example,), str(path), input_names=["input_ids"], output_names=["logits"],
            dynamic_shapes={"input_ids": dims}, opset_version=18, dynamo=True, external_data=external_data,
        )  # fmt: skip
    return path


def export_with_cache(model: Any, path: Path) -> Path:
    """Export with a KV cache as flat tensors: ``input_ids`` [batch, sequence], ``attention_mask`` [batch,
    past + sequence], ``past_key_values.{i}.key/value`` [batch, heads, past, head_dim] -> ``logits``,
    ``present.{i}.key/value`` [batch, heads, past + sequence, head_dim]; batch, sequence and past dynamic.

    transformers 5 carries the cache as a ``DynamicCache`` object: the wrapper builds one from the flat
    inputs and flattens the one it gets back, so the ONNX signature is plain tensors.
    """
    import onnx
    import torch
    from transformers import DynamicCache

    config = model.config
    layers, heads, head_dim = config.n_layer, config.n_head, config.n_embd // config.n_head

    class WithCache(torch.nn.Module):
        def __init__(self, lm: torch.nn.Module) -> None:
            super().__init__()
            self.lm = lm

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, past: tuple[torch.Tensor, ...]
        ) -> tuple[torch.Tensor, ...]:
            pairs = [(past[2 * i], past[2 * i + 1]) for i in range(layers)]
            cache = DynamicCache(ddp_cache_data=pairs, config=self.lm.config)
            out = self.lm(input_ids=input_ids, attention_mask=attention_mask, cache=cache, use_cache=True)
            present = [t for layer in cache.layers for t in (layer.keys, layer.values)]
            return (out.logits, *present)

    batch, sequence, past_length = 2, 5, 3
    example = (
        torch.randint(0, config.vocab_size, (batch, sequence)),
        torch.ones(batch, past_length + sequence, dtype=torch.int64),
        tuple(torch.randn(batch, heads, past_length, head_dim) for _ in range(2 * layers)),
    )
    b, s, p = torch.export.Dim("batch"), torch.export.Dim("sequence"), torch.export.Dim("past")
    dims = {
        "input_ids": {0: b, 1: s},
        "attention_mask": {0: b, 1: torch.export.Dim.AUTO},
        "past": tuple({0: b, 2: p} for _ in range(2 * layers)),
    }
    names = [f"{n}.{i}.{kv}" for n in ("past_key_values", "present") for i in range(layers) for kv in ("key", "value")]
    with torch.no_grad():
        torch.onnx.export(
            WithCache(model).eval(), example, str(path),
            input_names=["input_ids", "attention_mask", *names[: 2 * layers]],
            output_names=["logits", *names[2 * layers :]],
            dynamic_shapes=dims, opset_version=18, dynamo=True, external_data=False,
        )  # fmt: skip
    exported = onnx.load(str(path))
    mask = next(i for i in exported.graph.input if i.name == "attention_mask")
    mask.type.tensor_type.shape.dim[1].dim_param = "past + sequence"  # the exporter's own name is opaque
    onnx.save(exported, str(path))
    return path


# -- a hand-made cache model ------------------------------------------------------------------------------------------


def tiny_cache_lm(path: Path, *, vocab: int = 40, width: int = 16, heads: int = 2, seed: int = 0) -> Path:
    """A hand-made ONNX language model with a one-layer KV cache, built in milliseconds (random weights):
    ``input_ids`` [batch, sequence], ``past_key_values.0.key/value`` [batch, heads, past, head_dim] -> ``logits``
    [batch, sequence, vocab] (a bigram table: embedding then projection), ``present.0.key/value`` (the past with
    this step's keys and values appended). Its signature is a KV-cache decoder's; for API and service tests."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    head_dim = width // heads
    weights = {
        "embedding": rng.standard_normal((vocab, width)),
        "head": rng.standard_normal((width, vocab)),
        "key_proj": rng.standard_normal((width, width)),
        "value_proj": rng.standard_normal((width, width)),
    }
    initializers = [numpy_helper.from_array(w.astype(np.float32), name) for name, w in weights.items()]
    initializers.append(numpy_helper.from_array(np.array([0, 0, heads, head_dim], np.int64), "heads_shape"))
    nodes = [
        helper.make_node("Gather", ["embedding", "input_ids"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "head"], ["logits"]),
    ]
    for kind in ("key", "value"):
        nodes += [
            helper.make_node("MatMul", ["hidden", f"{kind}_proj"], [f"{kind}_flat"]),
            helper.make_node("Reshape", [f"{kind}_flat", "heads_shape"], [f"{kind}_heads"]),
            helper.make_node("Transpose", [f"{kind}_heads"], [f"{kind}_step"], perm=[0, 2, 1, 3]),
            helper.make_node("Concat", [f"past_key_values.0.{kind}", f"{kind}_step"], [f"present.0.{kind}"], axis=2),
        ]
    cache = ["batch", heads, "past", head_dim]
    graph = helper.make_graph(
        nodes,
        "tiny_cache_lm",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("past_key_values.0.key", TensorProto.FLOAT, cache),
            helper.make_tensor_value_info("past_key_values.0.value", TensorProto.FLOAT, cache),
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence", vocab]),
            helper.make_tensor_value_info("present.0.key", TensorProto.FLOAT, ["batch", heads, "total", head_dim]),
            helper.make_tensor_value_info("present.0.value", TensorProto.FLOAT, ["batch", heads, "total", head_dim]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path
