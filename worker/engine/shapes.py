"""Dynamic axes stay dynamic: no pass may fix a batch or sequence axis the user's model left open.

A model exported with a symbolic batch (or sequence, or past-length) axis is served at any size; an optimizer that
writes ``1`` there produces a model that refuses every other size, and a report measured at batch 1 would never
show it. Every pass's result, and every candidate a pass weighs, is checked against its input here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from worker.engine import modelio
from worker.engine.errors import EngineError

Dims = list[int | str | None]


@dataclass(frozen=True)
class Interface:
    """A model's graph inputs and outputs, name -> dims (a symbolic dim as its name, or None)."""

    inputs: dict[str, Dims]
    outputs: dict[str, Dims]

    def as_dict(self) -> dict[str, Dims]:
        return {**self.inputs, **self.outputs}


def interface(model: Path | Interface) -> Interface:
    """The graph's inputs and outputs, read without external data (an ``Interface`` is returned as it is, so a
    caller that compares many models against one reads that one once)."""
    if isinstance(model, Interface):
        return model
    try:
        proto = onnx.load(str(model), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf errors
        raise EngineError("invalid_model", f"not a valid ONNX model: {exc}") from None
    return Interface(
        {spec.name: spec.shape for spec in modelio.input_specs(proto)},
        {spec.name: spec.shape for spec in modelio.output_specs(proto)},
    )


def fixed_axes(before: Path | Interface, after: Path | Interface) -> list[str]:
    """The axes open in ``before`` that ``after`` fixed to a number.

    Open means: any symbolic axis of an input, and an output's axis named like an input's (``batch``,
    ``sequence``); an output's other symbolic dims may be ones shape inference resolves, not a choice of the
    user's. Only names present in both are compared (a pass may replace an output: a transfer's new head), and
    a rank that changed is not this check's business.
    """
    old, new = interface(before), interface(after)
    input_symbols = {d for dims in old.inputs.values() for d in dims if isinstance(d, str)}
    fixed: list[str] = []
    for was_side, now_side, counts in (
        (old.inputs, new.inputs, lambda d: not isinstance(d, int)),
        (old.outputs, new.outputs, lambda d: d in input_symbols),
    ):
        for name, dims in was_side.items():
            now = now_side.get(name)
            if now is None or len(now) != len(dims):
                continue
            for axis, (was, is_) in enumerate(zip(dims, now, strict=True)):
                if counts(was) and isinstance(is_, int):
                    fixed.append(f"{name}[{axis}] ({was or 'unnamed'} -> {is_})")
    return fixed


def problem(before: Path | Interface, after: Path | Interface) -> str | None:
    """A sentence naming the dynamic axes ``after`` lost against ``before``, or None when none was fixed."""
    fixed = fixed_axes(before, after)
    if not fixed:
        return None
    return f"fixed dynamic axes the input leaves open: {', '.join(fixed)} (the model would refuse other sizes)"


def require_dynamic(before: Path | Interface, after: Path | Interface, what: str) -> None:
    """EngineError ``dynamic_axes_lost`` when ``what`` (a pass's result) fixed an axis ``before`` left open."""
    sentence = problem(before, after)
    if sentence is not None:
        raise EngineError("dynamic_axes_lost", f"{what} {sentence}")
