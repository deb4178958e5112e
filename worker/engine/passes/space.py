"""What a pass's search space for ``tune`` is: the base every pass unit's ``space`` extends.

Each space names its parameters ``<pass>.<option>`` (``quantize.mode``, ``prune.sparsity``), proposes
them define-by-run (only the options that matter for the proposed mode), gives the reference
options (the pass as written), a coarse grid for the grid sampler, and applies its options to a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.engine import passes

if TYPE_CHECKING:
    from worker.engine.context import PassContext, PassResult


def grid_ints(high: int) -> list[int]:
    """A coarse grid over 0..``high``: the ends, the middle, and the first steps."""
    return sorted({v for v in (0, 1, 2, high // 2, high) if 0 <= v <= high})


@dataclass
class PassSpace:
    """A pass run as written: nothing to search (pass types without a search space)."""

    key: str
    config: Any

    def name(self, option: str) -> str:
        return f"{self.key}.{option}"

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {}

    def reference(self) -> dict[str, Any]:
        return {}

    def grid(self) -> dict[str, list[Any]]:
        return {}

    def mine(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = self.key + "."
        return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}

    def prepare(self, ctx: PassContext, source: Path) -> None:
        """Called once with the reference pipeline's input to this pass."""

    def run(self, ctx: PassContext, config: Any, source: Path) -> PassResult:
        """The pass itself with ``config`` (this space's config with the trial's options) on ``source``."""
        return passes.unit(config.type).run(ctx, config, source)

    def apply(self, ctx: PassContext, params: dict[str, Any], source: Path) -> tuple[Path, list[str]]:
        """Run the pass with ``params`` on ``source``; return the model and the nodes kept in float."""
        return self.run(ctx, self.config, source).model_path, []
