"""What a pass gets to work with, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.schemas.recipe import QualityLimit, Target
from worker.engine import macs, modelio, rollout
from worker.engine.data import Dataset, Split
from worker.engine.preflight import Hardware
from worker.engine.progress import Reporter
from worker.engine.verdict import Judge, Quality

LATENCY_BUDGET_S = 1.5  # the default; jobs take it from SLIMLINE_ENGINE_LATENCY_BUDGET_S


@dataclass
class PassContext:
    work_dir: Path
    target: Target
    limit: QualityLimit
    dataset: Dataset
    split: Split
    reporter: Reporter
    threads: int
    plan: rollout.Plan  # how the evaluation data is run (sample by sample, or a rollout)
    judge: Judge  # the original model's outputs on the evaluation data, and the limit per output
    baseline_quality: Quality
    counter: int = 0
    latency_budget_s: float = LATENCY_BUDGET_S  # seconds of interleaved timing per comparison (final ones: twice)
    hardware: Hardware = field(default_factory=Hardware.of_this_worker)  # what the pre-flight decides from
    _facts: dict[tuple[Path, int, int], dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def output_names(self) -> list[str]:
        return self.plan.output_names

    @property
    def label_names(self) -> list[str] | None:
        """The dataset's class names (class id -> name), when it has them."""
        return self.dataset.label_names

    def scratch(self, stem: str) -> Path:
        self.counter += 1
        path = self.work_dir / f"{self.counter:02d}-{stem}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def model_facts(self, path: Path) -> dict[str, Any]:
        """A copy of the file's static facts (size, parameters, sparsity, MACs), read once per file version.

        A pass's output is the next pass's input and the report's result: each is loaded only once.
        """
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in self._facts:
            sample = {name: tuple(array.shape) for name, array in self.latency_feed().items()}
            self._facts[key] = macs.model_facts(path, sample)
        return dict(self._facts[key])

    def session(self, path: Path) -> Any:
        return modelio.session(path, device=self.target.device, threads=self.threads)

    def assess(self, path: Path, session: Any | None = None) -> Quality:
        """A candidate judged against the original model on the evaluation data (verdict.Judge)."""
        session = session or self.session(path)
        return self.judge.judge(rollout.outputs(session, self.dataset, self.plan))

    @property
    def labels(self) -> np.ndarray | None:
        return None if self.dataset.labels is None else self.dataset.labels[self.plan.indices]

    @property
    def latency_batch(self) -> int:
        """Samples per timed run: inputs fed one sample at a time (no batch axis, a feed per sample) force 1."""
        return 1 if any(self.dataset.per_sample.values()) else self.target.batch_size

    def latency_feed(self) -> dict[str, np.ndarray]:
        evaluation = self.plan.indices
        indices = evaluation[: self.latency_batch]
        if len(indices) < self.latency_batch:  # small datasets: repeat samples to fill the batch
            indices = np.resize(evaluation, self.latency_batch)
        return self.dataset.feed_for(indices)

    def verdict(self, quality: Quality) -> dict[str, Any]:
        """The report's ``verdict`` block: within or not, the deciding output, and how the data was run."""
        return {
            "within": quality.within,
            "decided_by": quality.decided_by,
            "why": quality.why,
            "judged_by": "rollout" if self.plan.stateful else "samples",
            "state": self.plan.state,
            "sequences": len(self.plan.sequences) if self.plan.stateful else None,
            "steps": int(len(self.plan.indices)),
            "outputs": self.judge.describe(),
        }

    def within_limit(self, candidate: Quality) -> tuple[bool, str]:
        """Does ``candidate`` respect the quality limit on every output? Returns (ok, the numbers as a sentence)."""
        return candidate.within, candidate.why

    def limit_gap(self, candidate: Quality) -> tuple[float, str]:
        """How far the worst output of ``candidate`` is beyond its limit (<= 0: within), and the sentence."""
        return candidate.gap, candidate.why


@dataclass
class PassResult:
    model_path: Path
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    goal_met: bool = True
