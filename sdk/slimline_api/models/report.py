from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.report_baseline_model import ReportBaselineModel
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_split_report import DataSplitReport
    from ..models.environment import Environment
    from ..models.language_model_report import LanguageModelReport
    from ..models.measurement import Measurement
    from ..models.memory_use import MemoryUse
    from ..models.report_passes_item import ReportPassesItem
    from ..models.report_quality_limit import ReportQualityLimit
    from ..models.speedup_interval import SpeedupInterval
    from ..models.task_metrics import TaskMetrics
    from ..models.timing_conditions import TimingConditions
    from ..models.tuning import Tuning
    from ..models.verdict import Verdict


T = TypeVar("T", bound="Report")


@_attrs_define
class Report:
    """
    Attributes:
        baseline (Measurement): One model, measured on this machine in this job.
        optimized (Measurement): One model, measured on this machine in this job.
        speedup (float): baseline p50 latency / optimized p50 latency; exactly 1.0 when unchanged.
        speedup_interval (SpeedupInterval): Bootstrap confidence interval of the speedup, over interleaved timing
            rounds.
        size_ratio (float): optimized size / baseline size.
        accuracy_drop (float | None): Top-1 accuracy points lost (0.01 = 1 point); null without labels.
        goal_met (bool):
        quality_limit (ReportQualityLimit):
        verdict (Verdict): Is the optimized model within the quality limit on every output? The worst output decides.
        timing (TimingConditions): How the machine behaved while the baseline and the result were timed.
        passes (list[ReportPassesItem]):
        warnings (list[str]):
        split (DataSplitReport):
        environment (Environment):
        unchanged (bool): True when the optimized model is the input, unchanged.
        schema_version (int | Unset):  Default: 2.
        tuning (None | Tuning | Unset): For a job with a `tune` block: the study, trial by trial.
        task_metrics (None | TaskMetrics | Unset): With labels: accuracy, macro-F1, per-class precision/recall/F1 and
            the confusion matrix.
        language_model (LanguageModelReport | None | Unset): For a model with integer `input_ids`: token-level quality
            (a language model) and latency (prefill and decode at batch 1; an encoder per sequence length).
        baseline_model (ReportBaselineModel | Unset): What `baseline` measures: the uploaded model, or (after a
            `transfer` pass) the transferred model, since the original's outputs mean other classes; the transfer pass's
            entry in `passes` compares it with the probe (and scratch) baselines. Default: ReportBaselineModel.INPUT.
        memory (MemoryUse | None | Unset): The job's memory: estimate, limit and measured peak.
    """

    baseline: Measurement
    optimized: Measurement
    speedup: float
    speedup_interval: SpeedupInterval
    size_ratio: float
    accuracy_drop: float | None
    goal_met: bool
    quality_limit: ReportQualityLimit
    verdict: Verdict
    timing: TimingConditions
    passes: list[ReportPassesItem]
    warnings: list[str]
    split: DataSplitReport
    environment: Environment
    unchanged: bool
    schema_version: int | Unset = 2
    tuning: None | Tuning | Unset = UNSET
    task_metrics: None | TaskMetrics | Unset = UNSET
    language_model: LanguageModelReport | None | Unset = UNSET
    baseline_model: ReportBaselineModel | Unset = ReportBaselineModel.INPUT
    memory: MemoryUse | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.language_model_report import LanguageModelReport
        from ..models.memory_use import MemoryUse
        from ..models.task_metrics import TaskMetrics
        from ..models.tuning import Tuning

        baseline = self.baseline.to_dict()

        optimized = self.optimized.to_dict()

        speedup = self.speedup

        speedup_interval = self.speedup_interval.to_dict()

        size_ratio = self.size_ratio

        accuracy_drop: float | None
        accuracy_drop = self.accuracy_drop

        goal_met = self.goal_met

        quality_limit = self.quality_limit.to_dict()

        verdict = self.verdict.to_dict()

        timing = self.timing.to_dict()

        passes = []
        for passes_item_data in self.passes:
            passes_item = passes_item_data.to_dict()
            passes.append(passes_item)

        warnings = self.warnings

        split = self.split.to_dict()

        environment = self.environment.to_dict()

        unchanged = self.unchanged

        schema_version = self.schema_version

        tuning: dict[str, Any] | None | Unset
        if isinstance(self.tuning, Unset):
            tuning = UNSET
        elif isinstance(self.tuning, Tuning):
            tuning = self.tuning.to_dict()
        else:
            tuning = self.tuning

        task_metrics: dict[str, Any] | None | Unset
        if isinstance(self.task_metrics, Unset):
            task_metrics = UNSET
        elif isinstance(self.task_metrics, TaskMetrics):
            task_metrics = self.task_metrics.to_dict()
        else:
            task_metrics = self.task_metrics

        language_model: dict[str, Any] | None | Unset
        if isinstance(self.language_model, Unset):
            language_model = UNSET
        elif isinstance(self.language_model, LanguageModelReport):
            language_model = self.language_model.to_dict()
        else:
            language_model = self.language_model

        baseline_model: str | Unset = UNSET
        if not isinstance(self.baseline_model, Unset):
            baseline_model = self.baseline_model.value

        memory: dict[str, Any] | None | Unset
        if isinstance(self.memory, Unset):
            memory = UNSET
        elif isinstance(self.memory, MemoryUse):
            memory = self.memory.to_dict()
        else:
            memory = self.memory

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "baseline": baseline,
                "optimized": optimized,
                "speedup": speedup,
                "speedup_interval": speedup_interval,
                "size_ratio": size_ratio,
                "accuracy_drop": accuracy_drop,
                "goal_met": goal_met,
                "quality_limit": quality_limit,
                "verdict": verdict,
                "timing": timing,
                "passes": passes,
                "warnings": warnings,
                "split": split,
                "environment": environment,
                "unchanged": unchanged,
            }
        )
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if tuning is not UNSET:
            field_dict["tuning"] = tuning
        if task_metrics is not UNSET:
            field_dict["task_metrics"] = task_metrics
        if language_model is not UNSET:
            field_dict["language_model"] = language_model
        if baseline_model is not UNSET:
            field_dict["baseline_model"] = baseline_model
        if memory is not UNSET:
            field_dict["memory"] = memory

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.data_split_report import DataSplitReport
        from ..models.environment import Environment
        from ..models.language_model_report import LanguageModelReport
        from ..models.measurement import Measurement
        from ..models.memory_use import MemoryUse
        from ..models.report_passes_item import ReportPassesItem
        from ..models.report_quality_limit import ReportQualityLimit
        from ..models.speedup_interval import SpeedupInterval
        from ..models.task_metrics import TaskMetrics
        from ..models.timing_conditions import TimingConditions
        from ..models.tuning import Tuning
        from ..models.verdict import Verdict

        d = dict(src_dict)
        baseline = Measurement.from_dict(d.pop("baseline"))

        optimized = Measurement.from_dict(d.pop("optimized"))

        speedup = d.pop("speedup")

        speedup_interval = SpeedupInterval.from_dict(d.pop("speedup_interval"))

        size_ratio = d.pop("size_ratio")

        def _parse_accuracy_drop(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        accuracy_drop = _parse_accuracy_drop(d.pop("accuracy_drop"))

        goal_met = d.pop("goal_met")

        quality_limit = ReportQualityLimit.from_dict(d.pop("quality_limit"))

        verdict = Verdict.from_dict(d.pop("verdict"))

        timing = TimingConditions.from_dict(d.pop("timing"))

        passes = []
        _passes = d.pop("passes")
        for passes_item_data in _passes:
            passes_item = ReportPassesItem.from_dict(passes_item_data)

            passes.append(passes_item)

        warnings = cast(list[str], d.pop("warnings"))

        split = DataSplitReport.from_dict(d.pop("split"))

        environment = Environment.from_dict(d.pop("environment"))

        unchanged = d.pop("unchanged")

        schema_version = d.pop("schema_version", UNSET)

        def _parse_tuning(data: object) -> None | Tuning | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tuning_type_0 = Tuning.from_dict(data)

                return tuning_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Tuning | Unset, data)

        tuning = _parse_tuning(d.pop("tuning", UNSET))

        def _parse_task_metrics(data: object) -> None | TaskMetrics | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                task_metrics_type_0 = TaskMetrics.from_dict(data)

                return task_metrics_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TaskMetrics | Unset, data)

        task_metrics = _parse_task_metrics(d.pop("task_metrics", UNSET))

        def _parse_language_model(data: object) -> LanguageModelReport | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                language_model_type_0 = LanguageModelReport.from_dict(data)

                return language_model_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LanguageModelReport | None | Unset, data)

        language_model = _parse_language_model(d.pop("language_model", UNSET))

        _baseline_model = d.pop("baseline_model", UNSET)
        baseline_model: ReportBaselineModel | Unset
        if isinstance(_baseline_model, Unset):
            baseline_model = UNSET
        else:
            baseline_model = ReportBaselineModel(_baseline_model)

        def _parse_memory(data: object) -> MemoryUse | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                memory_type_0 = MemoryUse.from_dict(data)

                return memory_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MemoryUse | None | Unset, data)

        memory = _parse_memory(d.pop("memory", UNSET))

        report = cls(
            baseline=baseline,
            optimized=optimized,
            speedup=speedup,
            speedup_interval=speedup_interval,
            size_ratio=size_ratio,
            accuracy_drop=accuracy_drop,
            goal_met=goal_met,
            quality_limit=quality_limit,
            verdict=verdict,
            timing=timing,
            passes=passes,
            warnings=warnings,
            split=split,
            environment=environment,
            unchanged=unchanged,
            schema_version=schema_version,
            tuning=tuning,
            task_metrics=task_metrics,
            language_model=language_model,
            baseline_model=baseline_model,
            memory=memory,
        )

        return report
