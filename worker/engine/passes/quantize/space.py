"""The ``quantize`` pass's search space for ``tune``: its options, proposed per trial, built on the workbench."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.engine import modelio, preflight
from worker.engine.context import PassContext
from worker.engine.passes.quantize.candidates import op_mix
from worker.engine.passes.quantize.workbench import QuantizeWorkbench, file_digest
from worker.engine.passes.space import PassSpace, grid_ints

CALIBRATIONS = ["minmax", "entropy", "percentile"]
ACTIVATION_TYPES = ["uint8", "int8"]


@dataclass
class QuantizeSpace(PassSpace):
    """Mode (when `auto`), calibration, per-channel scales, activation type, an image stem in float (when the
    graph has one), and float nodes by sensitivity."""

    modes: list[str] = field(default_factory=list)
    stems: bool = False  # the graph has an image stem: static candidates may keep it in float
    ranking: list[dict[str, Any]] = field(default_factory=list)
    benches: dict[str, QuantizeWorkbench] = field(default_factory=dict)
    reference_bench: QuantizeWorkbench | None = None
    order: list[str] = field(default_factory=list)  # the pre-flight's candidate kinds, first measured first

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
        self.order = preflight.decide(ctx.hardware, ctx.target.device, op_mix(modelio.load(source))).order

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
            space[self.name("float_nodes")] = grid_ints(self.max_float_units)
        if self.stems:
            space[self.name("float_stem")] = [False, True]
        return space

    def auto_variants(self, reference: dict[str, Any]) -> list[dict[str, Any]]:
        """Under ``mode: auto``, this pass's options for every other candidate ``auto`` itself would measure,
        from the ``reference`` options (none for another mode), in the pre-flight's order."""
        if self.config.mode != "auto":
            return []
        options = self.mine(reference)
        static = {self.name(k): v for k, v in options.items() if k != "float_nodes"}
        variants = [{**static, self.name("per_channel"): not options.get("per_channel", True)}]
        if self.stems:  # auto's static candidates with the image stem in float, both granularities
            variants += [{**variant, self.name("float_stem"): True} for variant in (static, variants[0])]
        if "dynamic" in self.modes:
            variants += [
                {self.name("mode"): "dynamic", self.name("per_channel"): False},
                {self.name("mode"): "dynamic", self.name("per_channel"): True},
            ]
        variants.append({self.name("mode"): "fp32"})
        return sorted(variants, key=self._rank)

    def _rank(self, params: dict[str, Any]) -> int:
        """Where the pre-flight puts a candidate of these options (unranked kinds last)."""
        mine = self.mine(params)
        kind = preflight.STATIC_FLOAT_STEM if mine.get("float_stem") else str(mine.get("mode", "static"))
        return self.order.index(kind) if kind in self.order else len(self.order)

    @property
    def ranks_nodes(self) -> bool:
        """Whether a sensitivity ranking applies: the space is prepared and may quantize to int8."""
        return self.reference_bench is not None and bool({"static", "dynamic"} & set(self.modes))

    def measure_sensitivity(self) -> list[dict[str, Any]]:
        """Rank the prepared reference input's nodes by what quantizing each costs (the workbench's sensitivity).

        Static int8 with the pass's own options: the strictest mode, so its ranking serves dynamic too.
        """
        assert self.reference_bench is not None
        options = {
            "calibration": self.config.calibration,
            "activation_type": self.config.activation_type,
            "per_channel": self.config.per_channel,
        }
        return self.reference_bench.sensitivity(options)

    def kept_in_float(self, params: dict[str, Any], floats: list[str]) -> list[dict[str, str]]:
        """The report's nodes kept in float for a candidate: ``floats`` (the search's, by rank), then the
        nodes that always stay in float when ``params`` quantize to int8."""
        ranks = {n: row["rank"] for row in self.ranking for n in row["nodes"]}
        kept = [{"node": n, "reason": f"ranked #{ranks.get(n, '?')} most sensitive to int8"} for n in floats]
        if self.reference_bench is not None and self.mine(params).get("mode") in ("static", "dynamic"):
            kept += [{"node": n, "reason": r} for n, r in sorted(self.reference_bench.prepared.sensitive.items())]
        return kept

    def float_nodes(self, units: int) -> list[str]:
        return [name for row in self.ranking[:units] for name in row["nodes"]]

    def apply(self, ctx: PassContext, params: dict[str, Any], source: Path) -> tuple[Path, list[str]]:
        mine = self.mine(params)
        floats = self.float_nodes(int(mine.get("float_nodes", 0)))
        bench = self.bench(ctx, source)
        stems = [n for n in bench.prepared.stems if n not in floats] if mine.get("float_stem") else []
        return bench.build(mine, floats), floats + stems
