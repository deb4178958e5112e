"""The recipe's passes as one parameterized pipeline: a trial's options in, a candidate model out."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.schemas.recipe import Recipe
from worker.engine import passes
from worker.engine.context import PassContext
from worker.engine.passes.quantize import QuantizeSpace
from worker.engine.passes.space import PassSpace


def space_for(index: int, config: Any, counts: dict[str, int]) -> PassSpace:
    """The search space of one pass, keyed by its type (a repeated type gets its index in the name)."""
    kind = str(config.type)
    key = kind if counts.get(kind, 0) <= 1 else f"{kind}{index + 1}"
    space = passes.unit(kind).space or PassSpace
    return space(key, config)


@dataclass
class Evaluated:
    """A candidate this process built: its model, the nodes the search kept in float, and its session."""

    path: Path
    floats: list[str]
    session: Any | None = None  # opened again only for the finalists: sessions of big models are big


class Pipeline:
    def __init__(self, ctx: PassContext, recipe: Recipe, source: Path) -> None:
        self.ctx = ctx
        self.source = source
        counts = Counter(str(getattr(c, "type", "")) for c in recipe.passes)
        self.spaces: list[PassSpace] = [space_for(i, c, counts) for i, c in enumerate(recipe.passes)]

    @property
    def quantize(self) -> QuantizeSpace | None:
        """The first quantize pass: its sensitivity ranking drives the float-node search and the greedy fallback."""
        return next((s for s in self.spaces if isinstance(s, QuantizeSpace)), None)

    def prepare(self) -> None:
        """Give every space its reference input (the passes before it, run as written)."""
        current = self.source
        reference = self.reference()
        for index, space in enumerate(self.spaces):
            space.prepare(self.ctx, current)
            if index < len(self.spaces) - 1:
                current, _ = space.apply(self.ctx, reference, current)

    def reference(self) -> dict[str, Any]:
        """The options of the passes as written (no extra float nodes)."""
        return {k: v for space in self.spaces for k, v in space.reference().items()}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {k: v for space in self.spaces for k, v in space.suggest(trial).items()}

    def grid(self) -> dict[str, list[Any]]:
        return {k: v for space in self.spaces for k, v in space.grid().items()}

    def build(self, params: dict[str, Any]) -> tuple[Path, list[str]]:
        """The candidate for ``params``, and the nodes the search kept in float."""
        current, floats = self.source, []
        for space in self.spaces:
            self.ctx.reporter.check()
            current, kept = space.apply(self.ctx, params, current)
            floats.extend(kept)
        return current, floats


def canonical(params: dict[str, Any]) -> str:
    """One key per distinct candidate: zero extra float nodes is the same as not searching them."""
    return json.dumps({k: v for k, v in params.items() if not (k.endswith(".float_nodes") and v == 0)}, sort_keys=True)
