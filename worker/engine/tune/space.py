"""The search space, derived from the recipe's passes: one small class per pass type.

Each space names its parameters ``<pass>.<option>`` (``quantize.mode``, ``prune.sparsity``), proposes
them define-by-run (only the options that matter for the proposed mode), gives the reference
options (the pass as written), a coarse grid for the grid sampler, and applies its options to a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.engine.context import PassContext
from worker.engine.passes import registry
from worker.engine.tune.workbench import QuantizeWorkbench, file_digest

CALIBRATIONS = ["minmax", "entropy", "percentile"]
ACTIVATION_TYPES = ["uint8", "int8"]


def _grid_ints(high: int) -> list[int]:
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

    def apply(self, ctx: PassContext, params: dict[str, Any], source: Path) -> tuple[Path, list[str]]:
        """Run the pass with ``params`` on ``source``; return the model and the nodes kept in float."""
        result = registry.get(self.config.type)(ctx, self.config, source)
        return result.model_path, []


@dataclass
class QuantizeSpace(PassSpace):
    """Mode (when `auto`), calibration, per-channel scales, activation type, an image stem in float (when the
    graph has one), and float nodes by sensitivity."""

    modes: list[str] = field(default_factory=list)
    stems: bool = False  # the graph has an image stem: static candidates may keep it in float
    ranking: list[dict[str, Any]] = field(default_factory=list)
    benches: dict[str, QuantizeWorkbench] = field(default_factory=dict)
    reference_bench: QuantizeWorkbench | None = None

    @property
    def max_float_units(self) -> int:
        return max(0, len(self.ranking) - 1)  # at least one unit stays quantized

    def bench(self, ctx: PassContext, source: Path) -> QuantizeWorkbench:
        digest = file_digest(source)
        if digest not in self.benches:
            self.benches[digest] = QuantizeWorkbench(ctx, self.config, source)
        return self.benches[digest]

    def prepare(self, ctx: PassContext, source: Path) -> None:
        self.reference_bench = self.bench(ctx, source)
        self.modes = self.reference_bench.modes()
        self.stems = bool(self.reference_bench.prepared.stems)

    def reference_mode(self) -> str:
        return "static" if self.config.mode == "auto" else str(self.config.mode)

    def reference(self) -> dict[str, Any]:
        return self._options(self.reference_mode(), self.config.calibration, self.config.activation_type, 0)

    def _options(self, mode: str, calibration: str, activation_type: str, float_units: int) -> dict[str, Any]:
        params: dict[str, Any] = {self.name("mode"): mode}
        if mode == "static":
            params[self.name("calibration")] = calibration
            params[self.name("activation_type")] = activation_type
            if self.stems:
                params[self.name("float_stem")] = False
        if mode in ("static", "dynamic"):
            params[self.name("per_channel")] = self.config.per_channel
            if self.max_float_units:
                params[self.name("float_nodes")] = float_units
        return params

    def suggest(self, trial: Any) -> dict[str, Any]:
        mode = trial.suggest_categorical(self.name("mode"), self.modes)
        params: dict[str, Any] = {self.name("mode"): mode}
        if mode == "static":
            params[self.name("calibration")] = trial.suggest_categorical(self.name("calibration"), CALIBRATIONS)
            params[self.name("activation_type")] = trial.suggest_categorical(
                self.name("activation_type"), ACTIVATION_TYPES
            )
            if self.stems:
                params[self.name("float_stem")] = trial.suggest_categorical(self.name("float_stem"), [False, True])
        if mode in ("static", "dynamic"):
            params[self.name("per_channel")] = trial.suggest_categorical(self.name("per_channel"), [True, False])
            if self.max_float_units:
                params[self.name("float_nodes")] = trial.suggest_int(self.name("float_nodes"), 0, self.max_float_units)
        return params

    def grid(self) -> dict[str, list[Any]]:
        space: dict[str, list[Any]] = {
            self.name("mode"): self.modes,
            self.name("calibration"): CALIBRATIONS,
            self.name("activation_type"): ACTIVATION_TYPES,
            self.name("per_channel"): [True, False],
        }
        if self.max_float_units:
            space[self.name("float_nodes")] = _grid_ints(self.max_float_units)
        if self.stems:
            space[self.name("float_stem")] = [False, True]
        return space

    def float_nodes(self, units: int) -> list[str]:
        return [name for row in self.ranking[:units] for name in row["nodes"]]

    def apply(self, ctx: PassContext, params: dict[str, Any], source: Path) -> tuple[Path, list[str]]:
        mine = self.mine(params)
        floats = self.float_nodes(int(mine.get("float_nodes", 0)))
        bench = self.bench(ctx, source)
        stems = [n for n in bench.prepared.stems if n not in floats] if mine.get("float_stem") else []
        return bench.build(mine, floats), floats + stems


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
        return registry.get("prune")(ctx, config, source).model_path, []


def space_for(index: int, config: Any, counts: dict[str, int]) -> PassSpace:
    """The search space of one pass, keyed by its type (a repeated type gets its index in the name)."""
    kind = getattr(config, "type", None)
    key = str(kind) if counts.get(str(kind), 0) <= 1 else f"{kind}{index + 1}"
    if kind == "quantize":
        return QuantizeSpace(key, config)
    if kind == "prune":
        return PruneSpace(key, config)
    return PassSpace(key, config)
