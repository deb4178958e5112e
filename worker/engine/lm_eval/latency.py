"""Latency of token models, the way they are used: a decoder's prefill and decode, an encoder per length.

Every variant is timed in the same interleaved rounds (``evaluate.measure_calls``), so each ratio has its
bootstrap interval like the job's speedup. Decoding runs at batch 1 from a real prompt of the dataset: with a
KV cache each timed run feeds ``tokens`` single tokens onto the prefilled cache; without one, each step runs
the growing sequence. An encoder is timed at each sequence-length bucket the model takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from worker.engine import evaluate
from worker.engine.errors import EngineError
from worker.engine.lm_eval.decode import feed
from worker.engine.lm_eval.signature import Signature
from worker.engine.rollout import run_session

ENCODER_LENGTHS = (16, 64, 256)
WARMUP_RUNS = 2


def _warm(calls: Mapping[str, Callable[[], object]]) -> None:
    for call in calls.values():
        for _ in range(WARMUP_RUNS):
            call()


def prefill_latency(
    sessions: dict[str, Any], signature: Signature, prompt: np.ndarray, *, budget_s: float
) -> evaluate.Timings:
    """One run over ``prompt`` [1, length] (an empty past), per session; throughput is prompt tokens per second."""
    inputs = feed(signature, prompt)
    calls = {name: (lambda s=session: run_session(s, inputs)) for name, session in sessions.items()}
    _warm(calls)
    return evaluate.measure_calls(calls, prompt.shape[1], budget_s=budget_s)


def _decoder(
    session: Any, signature: Signature, row: np.ndarray, prompt_length: int, tokens: int
) -> Callable[[], None]:
    """A call that decodes ``tokens`` steps after the first ``prompt_length`` ids of ``row`` (teacher-forced with
    the row's own next ids, so every variant does the same work)."""
    names = [o.name for o in session.get_outputs()]
    steps = row[None, prompt_length : prompt_length + tokens]
    if signature.cache:
        at = {past: names.index(present) for past, present in signature.cache.items()}
        outs = run_session(session, feed(signature, row[None, :prompt_length]))
        prefilled = {name: np.asarray(outs[i]) for name, i in at.items()}

        def cached() -> None:
            past = prefilled
            for step in range(tokens):
                outs = session.run(
                    None, feed(signature, steps[:, step : step + 1], past=past, past_length=prompt_length + step)
                )
                past = {name: outs[i] for name, i in at.items()}

        return cached

    def rerun() -> None:
        for step in range(tokens):
            session.run(None, feed(signature, row[None, : prompt_length + step + 1]))

    return rerun


def decode_latency(
    sessions: dict[str, Any], signature: Signature, row: np.ndarray, prompt_length: int, tokens: int, *, budget_s: float
) -> evaluate.Timings:
    """Decoding ``tokens`` tokens at batch 1 after a prompt of ``prompt_length`` (``row`` holds at least
    ``prompt_length + tokens`` ids); throughput is tokens per second."""
    calls = {name: _decoder(session, signature, row, prompt_length, tokens) for name, session in sessions.items()}
    _warm(calls)
    return evaluate.measure_calls(calls, tokens, budget_s=budget_s)


def _row(source: np.ndarray, length: int) -> np.ndarray:
    """``length`` real ids: the dataset's first sequences laid end to end."""
    return np.resize(source.reshape(-1), length)[None, :]


def encoder_latency(
    sessions: dict[str, Any],
    signature: Signature,
    source: np.ndarray,
    *,
    budget_s: float,
    lengths: tuple[int, ...] = ENCODER_LENGTHS,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Batch-1 latency per sequence length, for every length the first session runs at (a fixed length: only
    it). ``source``: the dataset's token ids, laid end to end to fill each length. Returns the rows and notes."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    first = next(iter(sessions.values()))
    declared = next(i for i in first.get_inputs() if i.name == signature.input_ids).shape
    fixed = declared[1] if len(declared) > 1 and isinstance(declared[1], int) else None
    fitting = (fixed,) if fixed else lengths
    for length in fitting:
        inputs = feed(signature, _row(source, length))
        try:
            run_session(first, inputs)
        except EngineError as exc:  # e.g. past the position table: that length does not fit the model
            notes.append(f"sequence length {length} not timed: {exc.message}")
            continue
        calls = {name: (lambda s=session, f=inputs: run_session(s, f)) for name, session in sessions.items()}
        _warm(calls)
        timings = evaluate.measure_calls(calls, length, budget_s=budget_s / len(fitting))
        rows.append(_row_of(length, timings))
    return rows, notes


def _row_of(length: int, timings: evaluate.Timings) -> dict[str, Any]:
    names = list(timings)
    row: dict[str, Any] = {"sequence_length": length, "latency_ms_p50": {n: timings[n].p50_ms for n in names}}
    if len(names) > 1:
        row["speedup"] = timings.speedup(names[0], names[1]).as_dict()
    return row
