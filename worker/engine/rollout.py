"""Running a model over the evaluation data: sample by sample, or as a stream that carries its own state.

A stateful model (recurrent state in -> state out) is judged by rollout: each variant runs the ordered
sequences step by step, feeding its own state output back as its next state input, so a quantization that
drifts the state shows in the whole trajectory even when one step looks fine. A language model's KV cache
is not such a state: it is decoded (worker/engine/lm_eval), and ``Plan.tokens`` says how.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.schemas import tokens
from worker.engine.data import Dataset
from worker.engine.errors import EngineError
from worker.engine.modelio import InputSpec
from worker.engine.progress import Reporter

if TYPE_CHECKING:
    from worker.engine.lm_eval import TokenPlan

# Name endings and prefixes that mark the two ends of a state pair: "state" -> "stateN", "h0" -> "hn".
_IN_ENDINGS = ("_in", ".in", "_input", "_0", "0", "_prev", "_past")
_OUT_ENDINGS = ("_out", ".out", "_output", "_n", "n", "N", "_new", "_next", "_1", "1")
_IN_PREFIXES = ("prev_", "past_")
_OUT_PREFIXES = ("new_", "next_")


def _cores(name: str, prefixes: tuple[str, ...], endings: tuple[str, ...]) -> set[str]:
    """The name and the name without one marking prefix and/or ending, lowercased."""
    stems = {name} | {name[len(p) :] for p in prefixes if name.startswith(p)}
    cores = set(stems)
    for stem in stems:
        cores |= {stem[: -len(e)] for e in endings if stem.endswith(e) and len(stem) > len(e)}
    return {c.lower() for c in cores if c}


def _shapes_fit(a: InputSpec, b: InputSpec) -> bool:
    if a.dtype != b.dtype or len(a.shape) != len(b.shape):
        return False
    return all(
        not isinstance(x, int) or not isinstance(y, int) or x == y for x, y in zip(a.shape, b.shape, strict=True)
    )


def detect_state_pairs(inputs: list[InputSpec], outputs: list[InputSpec]) -> dict[str, str]:
    """Input -> output pairs that look like recurrent state: same dtype and shape, names that match."""
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    for spec in inputs:
        kv = tokens.kv_key(spec.name)
        in_cores = _cores(spec.name, _IN_PREFIXES, _IN_ENDINGS)
        for out in outputs:
            if out.name in taken or out.name == spec.name or not _shapes_fit(spec, out):
                continue
            if kv is not None and tokens.kv_key(out.name) == kv and out.name.startswith("present"):
                matched = True
            else:
                matched = bool(in_cores & _cores(out.name, _OUT_PREFIXES, _OUT_ENDINGS))
            if matched:
                pairs[spec.name] = out.name
                taken.add(out.name)
                break
    return pairs


def check_state_pairs(pairs: dict[str, str], inputs: list[InputSpec], outputs: list[InputSpec]) -> None:
    """EngineError unless every pair names a model input and an output of the same dtype and rank."""
    by_input = {s.name: s for s in inputs}
    by_output = {s.name: s for s in outputs}
    for source, target in pairs.items():
        if source not in by_input or target not in by_output:
            raise EngineError(
                "invalid_recipe",
                f"evaluation.state pairs input {source!r} with output {target!r}, but the model has inputs "
                f"{', '.join(by_input)} and outputs {', '.join(by_output)}",
            )
        a, b = by_input[source], by_output[target]
        if a.dtype != b.dtype or len(a.shape) != len(b.shape):
            raise EngineError(
                "invalid_recipe",
                f"evaluation.state: output {target!r} ({b.dtype}, rank {len(b.shape)}) cannot feed input "
                f"{source!r} ({a.dtype}, rank {len(a.shape)})",
            )


@dataclass(frozen=True)
class Plan:
    """How the evaluation data is run: ``state`` empty means sample by sample at ``batch_size``; ``tokens``, a
    language model's token sequences, reduced to token metrics (worker/engine/lm_eval) and decoded."""

    sequences: list[np.ndarray]  # ordered indices of each evaluation sequence (one entry without state)
    state: dict[str, str]
    batch_size: int
    output_names: list[str]
    tokens: TokenPlan | None = None

    @property
    def indices(self) -> np.ndarray:
        return np.concatenate(self.sequences) if self.sequences else np.zeros(0, np.int64)

    @property
    def stateful(self) -> bool:
        return bool(self.state)

    def describe(self) -> str:
        if self.tokens is not None:
            layout = self.tokens.layout
            generated = (
                f"; greedy continuations of {layout.continuation} tokens from {len(self.tokens.prompts)} prompts"
                if layout.continuation and len(self.tokens.prompts)
                else ""
            )
            return f"next tokens of {len(self.indices)} sequences of {layout.tokens} tokens{generated}"
        if not self.stateful:
            return ""
        steps = sum(len(s) for s in self.sequences)
        return f"rollout over {len(self.sequences)} sequence(s), {steps} steps"


def _collect(outs: list[Any], per_sample: bool) -> list[np.ndarray]:
    return [np.asarray(o)[None] if per_sample or np.ndim(o) == 0 else np.asarray(o) for o in outs]


def run_session(session: Any, feed: dict[str, np.ndarray]) -> list[Any]:
    try:
        return list(session.run(None, feed))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError("model_run_failed", f"the model failed while running on the dataset: {message}") from None


def stream(
    session: Any, dataset: Dataset, sequences: list[np.ndarray], state: dict[str, str], output_names: list[str]
) -> Iterator[tuple[dict[str, np.ndarray], list[Any]]]:
    """Each step's feed and outputs; a sequence starts from the dataset's state, then carries its own."""
    position = {name: i for i, name in enumerate(output_names)}
    for sequence in sequences:
        carried: dict[str, np.ndarray] = {}
        for index in sequence:
            feed = dataset.feed_for(np.asarray([index]))
            feed.update(carried)
            outs = run_session(session, feed)
            carried = {name: np.asarray(outs[position[out]]) for name, out in state.items()}
            yield feed, outs


def outputs(session: Any, dataset: Dataset, plan: Plan, reporter: Reporter | None = None) -> list[np.ndarray]:
    """Every output over the plan's samples, concatenated along the sample axis (the trajectory for a rollout;
    for a language model, its token metrics in place of the logits, see ``lm_eval.TokenPlan.outputs``)."""
    indices = plan.indices
    if plan.tokens is not None:
        return plan.tokens.outputs(session, dataset, indices, plan.batch_size, reporter)
    total = max(1, len(indices))
    collected: list[list[np.ndarray]] = []
    done = 0
    if plan.stateful:
        per_sample = any(dataset.per_sample.values())
        steps: Iterator[tuple[int, list[Any], bool]] = (
            (1, outs, per_sample) for _, outs in stream(session, dataset, plan.sequences, plan.state, plan.output_names)
        )
    else:
        steps = (
            (len(chunk), run_session(session, feed), len(chunk) == 1 and any(dataset.per_sample.values()))
            for chunk, feed in dataset.batches(indices, plan.batch_size)
        )
    for count, outs, per_sample in steps:
        if not collected:
            collected = [[] for _ in outs]
        for bucket, out in zip(collected, _collect(outs, per_sample), strict=True):
            bucket.append(out)
        done += count
        if reporter is not None:
            reporter.update(done / total)
    try:
        return [np.concatenate(bucket, axis=0) for bucket in collected]
    except ValueError as exc:
        raise EngineError(
            "output_mismatch", f"the model's outputs change shape from sample to sample and cannot be compared: {exc}"
        ) from None
