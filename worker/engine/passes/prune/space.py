"""The ``prune`` pass's search space for ``tune``: the sparsity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.engine.context import PassContext
from worker.engine.passes.space import PassSpace


@dataclass
class PruneSpace(PassSpace):
    """Sparsity between 10 % and 90 % (the pass's other options as written)."""

    def reference(self) -> dict[str, Any]:
        return {self.name("sparsity"): float(self.config.sparsity)}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {self.name("sparsity"): trial.suggest_float(self.name("sparsity"), 0.1, 0.9, step=0.05)}

    def grid(self) -> dict[str, list[Any]]:
        return {self.name("sparsity"): [0.25, 0.5, 0.75]}

    def apply(self, ctx: PassContext, params: dict[str, Any], source: Path) -> tuple[Path, list[str]]:
        config = self.config.model_copy(update={"sparsity": self.mine(params)["sparsity"]})
        return self.run(ctx, config, source).model_path, []
