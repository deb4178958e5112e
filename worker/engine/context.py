"""What a pass gets to work with, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.schemas.recipe import QualityLimit, Target
from worker.engine import evaluate, macs, modelio
from worker.engine.data import Dataset, Split
from worker.engine.progress import Reporter

LATENCY_BUDGET_S = 1.5


@dataclass
class PassContext:
    work_dir: Path
    target: Target
    limit: QualityLimit
    dataset: Dataset
    split: Split
    reporter: Reporter
    threads: int
    reference_outputs: list[np.ndarray]  # the original model's outputs on the evaluation split
    output_names: list[str]
    baseline_quality: evaluate.Quality
    counter: int = 0
    _facts: dict[tuple[Path, int, int], dict[str, Any]] = field(default_factory=dict, repr=False)

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

    def assess(self, path: Path, session: Any | None = None) -> evaluate.Quality:
        """Quality of a candidate against the original model on the evaluation split."""
        session = session or self.session(path)
        outputs = evaluate.outputs_on(session, self.dataset, self.split.evaluation, self.target.batch_size)
        return evaluate.quality(self.reference_outputs, outputs, self.labels, self.output_names)

    @property
    def labels(self) -> np.ndarray | None:
        return None if self.dataset.labels is None else self.dataset.labels[self.split.evaluation]

    def latency_feed(self) -> dict[str, np.ndarray]:
        indices = self.split.evaluation[: self.target.batch_size]
        if len(indices) < self.target.batch_size:  # small datasets: repeat samples to fill the batch
            indices = np.resize(self.split.evaluation, self.target.batch_size)
        return self.dataset.feed_for(indices)

    def within_limit(self, candidate: evaluate.Quality) -> tuple[bool, str]:
        """Does ``candidate`` respect the recipe's quality limit? Returns (ok, the numbers as a sentence)."""
        gap, why = self.limit_gap(candidate)
        return gap <= 1e-12, why

    def limit_gap(self, candidate: evaluate.Quality) -> tuple[float, str]:
        """How far ``candidate`` is beyond the quality limit (<= 0: within it), and the numbers as a sentence.

        The gap is in the limit's own units: accuracy points as a fraction, agreement, or cosine.
        """
        base = self.baseline_quality.accuracy
        if base is not None and candidate.accuracy is not None:
            drop = base["top1"] - candidate.accuracy["top1"]
            allowed = self.limit.max_accuracy_drop * (base["top1"] if self.limit.relative else 1.0)
            relative = f" = {self.limit.max_accuracy_drop * 100:g} % of the baseline" if self.limit.relative else ""
            return drop - allowed, f"accuracy drop {drop * 100:.2f} points (limit {allowed * 100:.2f}{relative})"
        agreement = candidate.fidelity.get("top1_agreement")
        if agreement is not None:
            return self.limit.min_top1_agreement - agreement, (
                f"top-1 agreement {agreement:.4f} (limit {self.limit.min_top1_agreement})"
            )
        cosine = float(candidate.fidelity["cosine_mean"] or 0.0)
        return self.limit.min_cosine - cosine, f"cosine similarity {cosine:.4f} (limit {self.limit.min_cosine})"


@dataclass
class PassResult:
    model_path: Path
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    goal_met: bool = True
