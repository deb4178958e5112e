"""Dynamic axes stay dynamic: no pass may fix a batch or sequence axis the user's model left open.

A model exported with a symbolic batch (or sequence, or past-length) axis is served at any size; an optimizer that
writes ``1`` there produces a model that refuses every other size, and a report measured at batch 1 would never
show it. Every pass's result, and every candidate a pass weighs, is checked against its input here.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from worker.engine import modelio
from worker.engine.errors import EngineError


def _io(path: Path) -> tuple[dict[str, list[int | str | None]], dict[str, list[int | str | None]]]:
    """The graph's inputs' and outputs' dims (a symbolic one as its name, or None), read without external data."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf errors
        raise EngineError("invalid_model", f"not a valid ONNX model: {exc}") from None
    return (
        {spec.name: spec.shape for spec in modelio.input_specs(model)},
        {spec.name: spec.shape for spec in modelio.output_specs(model)},
    )


def fixed_axes(before: Path, after: Path) -> list[str]:
    """The axes open in ``before`` that ``after`` fixed to a number.

    Open means: any symbolic axis of an input, and an output's axis named like an input's (``batch``,
    ``sequence``); an output's other symbolic dims may be ones shape inference resolves, not a choice of the
    user's. Only names present in both are compared (a pass may replace an output: a transfer's new head), and
    a rank that changed is not this check's business.
    """
    (inputs, outputs), (new_inputs, new_outputs) = _io(before), _io(after)
    input_symbols = {d for dims in inputs.values() for d in dims if isinstance(d, str)}
    fixed: list[str] = []
    for old, new, counts in (
        (inputs, new_inputs, lambda d: not isinstance(d, int)),
        (outputs, new_outputs, lambda d: d in input_symbols),
    ):
        for name, dims in old.items():
            now = new.get(name)
            if now is None or len(now) != len(dims):
                continue
            for axis, (was, is_) in enumerate(zip(dims, now, strict=True)):
                if counts(was) and isinstance(is_, int):
                    fixed.append(f"{name}[{axis}] ({was or 'unnamed'} -> {is_})")
    return fixed


def problem(before: Path, after: Path) -> str | None:
    """A sentence naming the dynamic axes ``after`` lost against ``before``, or None when none was fixed."""
    fixed = fixed_axes(before, after)
    if not fixed:
        return None
    return f"fixed dynamic axes the input leaves open: {', '.join(fixed)} (the model would refuse other sizes)"


def require_dynamic(before: Path, after: Path, what: str) -> None:
    """EngineError ``dynamic_axes_lost`` when ``what`` (a pass's result) fixed an axis ``before`` left open."""
    sentence = problem(before, after)
    if sentence is not None:
        raise EngineError("dynamic_axes_lost", f"{what} {sentence}")
