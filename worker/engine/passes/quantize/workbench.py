"""Quantized candidates built cheaply, trial after trial, and the per-node sensitivity ranking.

Cost control: each source model is pre-processed once, and its calibration ranges are computed once
per calibration method (onnxruntime's ``calibration_cache_path``); every later ``quantize_static``
call only rewrites the graph.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.schemas.recipe import QuantizePass
from worker.engine import modelio
from worker.engine.context import PassContext
from worker.engine.graph import analysis
from worker.engine.passes.quantize.candidates import (
    CONV_OPS,
    MATMUL_OPS,
    fp16,
    fp32_optimized,
    prepare,
    quantize_dynamic_file,
    quantize_static_file,
)
from worker.engine.verdict import Quality

MAX_SENSITIVITY_UNITS = 16  # larger graphs are ranked in groups of consecutive nodes


@dataclass
class Prepared:
    path: Path
    notes: list[str]
    sensitive: dict[str, str]  # node -> why it always stays in float
    op_types: set[str]
    stems: dict[str, str]  # image stems (analysis.image_stems): a candidate may keep them in float


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class QuantizeWorkbench:
    """Builds quantize candidates of one source model; prepares and calibrates it once."""

    def __init__(self, ctx: PassContext, config: QuantizePass, source: Path) -> None:
        self.ctx = ctx
        self.config = config
        self.source = source
        self._prepared: Prepared | None = None
        self._fp32: Path | None = None
        self.counter = 0

    @property
    def prepared(self) -> Prepared:
        if self._prepared is None:
            path, notes, sensitive = prepare(self.ctx, self.source, min_opset=13)
            model = modelio.load(path)
            op_types = {n.op_type for n in model.graph.node}
            self._prepared = Prepared(path, notes, sensitive, op_types, analysis.image_stems(model))
        return self._prepared

    def modes(self) -> list[str]:
        """The modes worth trying on this graph (dynamic int8 on conv nets is several times slower)."""
        if self.config.mode != "auto":
            return [self.config.mode]
        ops = self.prepared.op_types
        modes = ["static", "fp32"]
        if ops & MATMUL_OPS and not ops & CONV_OPS:
            modes.insert(1, "dynamic")
        if self.ctx.target.device == "cuda":
            modes.append("fp16")
        return modes

    def quantizable_nodes(self) -> list[tuple[str, str]]:
        """(name, op_type) of nodes static quantization may touch, in graph order, minus those kept in float."""
        from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

        allowed = set(QDQRegistry) | set(QLinearOpsRegistry)
        if self.config.op_types_to_quantize:
            allowed &= set(self.config.op_types_to_quantize)
        fixed = set(self.prepared.sensitive) | set(self.config.nodes_to_exclude)
        graph = modelio.load(self.prepared.path).graph
        # nodes the pre-processor created without a name cannot be excluded by name, so they are not ranked
        return [(n.name, n.op_type) for n in graph.node if n.op_type in allowed and n.name and n.name not in fixed]

    def _out(self, stem: str) -> Path:
        self.counter += 1
        return self.ctx.scratch(f"cand-{self.counter:03d}-{stem}") / "model.onnx"

    def fp32(self) -> Path:
        if self._fp32 is None:
            self._fp32 = fp32_optimized(self.ctx, self.source, self.config).path
        return self._fp32

    def build(self, params: dict[str, Any], float_nodes: list[str]) -> Path:
        """The candidate for ``params`` (mode, calibration, per_channel, activation_type) with extra float nodes."""
        mode = params["mode"]
        if mode == "fp32":
            return self.fp32()
        if mode == "fp16":
            return fp16(self.ctx, self.source, self.config.model_copy(update={"mode": "fp16"})).path
        stems = self.prepared.stems if params.get("float_stem") else {}
        exclude = sorted({*self.config.nodes_to_exclude, *self.prepared.sensitive, *float_nodes, *stems})
        if mode == "dynamic":
            return self._dynamic(bool(params["per_channel"]), exclude)
        return self._static(params, exclude, None)

    def _dynamic(self, per_channel: bool, exclude: list[str]) -> Path:
        out = self._out("dynamic")
        quantize_dynamic_file(
            self.prepared.path, out, self.config.model_copy(update={"per_channel": per_channel}), exclude
        )
        return out

    def calibration_cache(self, method: str) -> Path:
        suffix = f"-{self.config.percentile:g}" if method == "percentile" else ""
        return self.prepared.path.parent / f"calibration-{method}{suffix}.json"

    def _static(self, params: dict[str, Any], exclude: list[str], only: list[str] | None) -> Path:
        config = self.config.model_copy(
            update={
                "calibration": params["calibration"],
                "per_channel": bool(params["per_channel"]),
                "activation_type": params["activation_type"],
            }
        )
        out = self._out("static")
        quantize_static_file(
            self.ctx,
            self.prepared.path,
            out,
            config,
            exclude,
            only=only,
            calibration_cache=self.calibration_cache(params["calibration"]),
        )
        return out

    def sensitivity(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Rank nodes (or groups of consecutive nodes) by what quantizing each alone costs, worst first.

        Each unit is quantized on its own, everything else in float, with the reference options
        ``params``; its cost is measured on the fixed evaluation split against the original model.
        """
        nodes = self.quantizable_nodes()
        if not nodes:
            return []
        size = -(-len(nodes) // MAX_SENSITIVITY_UNITS)
        units = [nodes[i : i + size] for i in range(0, len(nodes), size)]
        exclude = sorted(set(self.config.nodes_to_exclude) | set(self.prepared.sensitive))
        rows = []
        for index, unit in enumerate(units):
            self.ctx.reporter.update(index / len(units))
            names = [name for name, _ in unit]
            path = self._static({**params, "mode": "static"}, exclude, names)
            quality = self.ctx.assess(path)
            gap, why = self.ctx.limit_gap(quality)
            rows.append(
                {
                    "nodes": names,
                    "op_types": sorted({op for _, op in unit}),
                    "fidelity_loss": _fidelity_loss(quality),
                    "accuracy_drop": self._drop(quality),
                    "top1_agreement": quality.fidelity.get("top1_agreement"),
                    "limit_gap": gap,
                    "quality": why,
                }
            )
            path.unlink(missing_ok=True)
        rows.sort(key=lambda r: (r["limit_gap"], r["fidelity_loss"]), reverse=True)
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank
        return rows

    def _drop(self, quality: Quality) -> float | None:
        base = self.ctx.baseline_quality.accuracy
        return base["top1"] - quality.accuracy["top1"] if base and quality.accuracy else None


def _fidelity_loss(quality: Quality) -> float:
    """1 - the first output's mean cosine; where cosine means nothing (small, integer outputs), the verdict's gap."""
    cosine = quality.fidelity["cosine_mean"]
    return 1.0 - float(cosine) if cosine is not None else max(0.0, quality.gap)
