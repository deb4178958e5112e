"""A BERT-style encoder built from a transformers config (nothing from a hub), trained briefly on real text, and
token datasets of held-out text for it.

The text is the docstrings of a fixed list of Python standard-library modules (``inspect.getdoc``), split into
paragraphs: deterministic for one Python version, and available offline. Tokens are bytes (a 260-token
vocabulary: four special tokens, then the 256 byte values). The encoder learns masked-language modelling for a
couple of hundred steps with a warm-up: after a few dozen it still predicts byte frequencies alone, and every
token's hidden state points the same way (mean pairwise cosine 0.98-1.0; at 4×256 with lr 1e-3 it collapses
outright), so that any candidate passes a cosine check; after 200 steps at 4×256 (lr 5e-4) the pairwise
cosine of token states is about 0.26 and of the pooled embeddings about 0.96.

The ONNX graph comes from TorchScript (``dynamo=False``) with eager attention: onnxruntime's transformers
optimizer's patterns were written for that export (with SDPA attention, or with the dynamo exporter, it fuses
SkipLayerNormalization and BiasGelu but no Attention). Inputs ``input_ids`` and ``attention_mask`` (int64,
[batch, sequence]), outputs ``last_hidden_state`` [batch, sequence, hidden] and ``embedding`` [batch, hidden]
(the mean of the hidden states over the unmasked tokens), both axes dynamic.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from pathlib import Path
from typing import Any

import numpy as np

PAD, CLS, SEP, MASK = 0, 1, 2, 3
SPECIAL_TOKENS = 4
VOCAB = SPECIAL_TOKENS + 256
MAX_POSITIONS = 128
HELD_OUT_EVERY = 8  # every 8th paragraph is held out of training, for datasets

MODULES = (
    "argparse", "base64", "bisect", "calendar", "collections", "contextlib", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "enum", "fractions", "functools", "glob", "gzip", "heapq", "inspect", "io", "itertools",
    "json", "logging", "operator", "pathlib", "pprint", "queue", "random", "shlex", "shutil", "statistics",
    "string", "tarfile", "tempfile", "textwrap", "threading", "typing", "unittest", "uuid", "zipfile",
)  # fmt: skip


def stdlib_paragraphs() -> list[str]:
    """The paragraphs (40 characters or more) of the docstrings of ``MODULES`` and of what each defines, in a
    fixed order, without repeats."""
    paragraphs: dict[str, None] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        docs = [inspect.getdoc(module)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # reading typing.re and typing.io warns
            for name in sorted(vars(module)):
                member = vars(module)[name]
                if not name.startswith("_") and getattr(member, "__module__", None) == module_name:
                    docs.append(inspect.getdoc(member))
        for doc in docs:
            for paragraph in (doc or "").split("\n\n"):
                text = " ".join(paragraph.split())
                if len(text) >= 40:
                    paragraphs.setdefault(text, None)
    return list(paragraphs)


def split_paragraphs() -> tuple[list[str], list[str]]:
    """(training paragraphs, held-out paragraphs): every ``HELD_OUT_EVERY``-th one is held out."""
    paragraphs = stdlib_paragraphs()
    held_out = paragraphs[::HELD_OUT_EVERY]
    training = [p for i, p in enumerate(paragraphs) if i % HELD_OUT_EVERY]
    return training, held_out


def encode(texts: list[str], sequence: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), int64 [len(texts), sequence]: [CLS] bytes [SEP], cut to fit, right-padded."""
    ids = np.full((len(texts), sequence), PAD, dtype=np.int64)
    for row, text in enumerate(texts):
        tokens = [CLS, *(b + SPECIAL_TOKENS for b in text.encode("utf-8")[: sequence - 2]), SEP]
        ids[row, : len(tokens)] = tokens
    return ids, (ids != PAD).astype(np.int64)


def token_dataset(path: Path, samples: int, sequence: int, *, seed: int = 0) -> Path:
    """An .npz of ``samples`` held-out paragraphs (``input_ids``, ``attention_mask``), each starting at a random
    offset so the lengths (and the padding) vary."""
    _, held_out = split_paragraphs()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(held_out), size=samples, replace=samples > len(held_out))
    texts = []
    for index in picks:
        text = held_out[index]
        start = int(rng.integers(0, max(1, len(text) - 8)))
        texts.append(text[start : start + int(rng.integers(8, 2 * sequence))])
    ids, mask = encode(texts, sequence)
    np.savez(path, input_ids=ids, attention_mask=mask)
    return path


def _masked_batch(rng: np.random.Generator, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking: 15 % of the real tokens are predicted; of those 80 % become [MASK], 10 % a random byte."""
    real = ids >= SPECIAL_TOKENS
    chosen = real & (rng.random(ids.shape) < 0.15)
    labels = np.where(chosen, ids, -100)
    draw = rng.random(ids.shape)
    masked = np.where(chosen & (draw < 0.8), MASK, ids)
    randomized = chosen & (draw >= 0.8) & (draw < 0.9)
    masked = np.where(randomized, rng.integers(SPECIAL_TOKENS, VOCAB, size=ids.shape), masked)
    return masked, labels


def _train(model: Any, steps: int, lr: float, batch: int, sequence: int, seed: int) -> None:
    """Masked-LM steps on the training paragraphs (AdamW, linear warm-up over the first fifth)."""
    import torch

    if not steps:
        return
    training, _ = split_paragraphs()
    ids, mask = encode(training, sequence)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    warmup = max(1, steps // 5)  # post-LN BERT diverges without one
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    model.train()
    for _ in range(steps):
        rows = rng.choice(len(ids), size=batch, replace=False)
        masked, labels = _masked_batch(rng, ids[rows])
        loss = model(
            input_ids=torch.from_numpy(masked),
            attention_mask=torch.from_numpy(mask[rows]),
            labels=torch.from_numpy(labels),
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


def bert_encoder(
    path: Path,
    *,
    layers: int = 4,
    hidden: int = 256,
    heads: int = 4,
    intermediate: int = 1024,
    train_steps: int = 200,
    lr: float = 5e-4,
    batch: int = 16,
    sequence: int = 64,
    positions: int = MAX_POSITIONS,
    seed: int = 0,
) -> Path:
    """Build a BERT-style encoder (``positions`` rows of position embeddings: longer sequences do not run),
    train it for ``train_steps`` masked-LM steps of ``batch`` paragraphs cut to
    ``sequence`` bytes (AdamW at ``lr`` after a linear warm-up over the first fifth; 0 steps: random weights),
    and export it to ``path`` (see the module's docstring for its inputs and outputs)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=positions,
        type_vocab_size=1,
        pad_token_id=PAD,
        attn_implementation="eager",  # onnxruntime's attention fusion matches eager attention, not SDPA's
    )
    model = BertForMaskedLM(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread trained the 2×128 test model 2× faster beside other work
    try:
        _train(model, train_steps, lr, batch, sequence, seed)
    finally:
        torch.set_num_threads(threads)
    model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(states.dtype)
            return states, (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    example = encode(["An example sentence.", "Another, longer example sentence."], 16)
    axes = {0: "batch", 1: "sequence"}
    dynamic_axes = {"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes, "embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            Encoder(model.bert).eval(),
            tuple(torch.from_numpy(a) for a in example),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state", "embedding"],
            dynamic_axes=dynamic_axes,
            opset_version=17,
            dynamo=False,
        )
    return path
