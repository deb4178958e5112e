"""A GPT-2-style decoder built from a transformers config (nothing from a hub), exported to ONNX.

Without a KV cache: one input ``input_ids`` [batch, sequence] and one output ``logits`` [batch, sequence,
vocabulary], both axes dynamic (torch.onnx's dynamo exporter; the TorchScript one cannot export GPT-2 in
transformers 5). Briefly trained on a repeating token pattern, so its next-token predictions are confident
and int4 fidelity means something; random weights give near-flat logits.
"""

from __future__ import annotations

from pathlib import Path

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

    class Logits(torch.nn.Module):
        def __init__(self, lm: torch.nn.Module) -> None:
            super().__init__()
            self.lm = lm

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.lm(input_ids=input_ids, use_cache=False).logits

    example = torch.randint(0, vocab, (2, 16))
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("sequence", max=positions)}
    with torch.no_grad():
        torch.onnx.export(
            Logits(model).eval(),
            (example,),
            str(path),
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": dims},
            opset_version=18,
            dynamo=True,
        )
    return path
