from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.output_quality_kind import OutputQualityKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.output_quality_limits import OutputQualityLimits
    from ..models.output_quality_metrics import OutputQualityMetrics


T = TypeVar("T", bound="OutputQuality")


@_attrs_define
class OutputQuality:
    """One output, judged with the metric that fits its kind (see the recipe's `quality`).

    Attributes:
        name (str):
        kind (OutputQualityKind):
        metrics (OutputQualityMetrics): classifier: top1_agreement (accuracy, f1_macro, accuracy_drop with labels),
            cosine; small: normalized_rmse (RMSE across samples over the baseline's std), rmse, max_abs_error, pearson,
            decision_agreement (values in [0, 1]); dense: cosine_mean, cosine_min, snr_db, max_abs_error; integer:
            exact_match, sample_exact_match; language_model (a language model's logits): next_token_agreement,
            perplexity_baseline, perplexity, perplexity_increase, continuation_agreement, continuation_prefix_agreement,
            continuation_prompts, max_log_prob_error; non_finite when values became NaN or Inf.
        limits (OutputQualityLimits): The limit applied to each judged metric.
        within (bool):
        gap (float): How far beyond its limit the worst metric is, in its own units (<= 0: within).
        why (str):
        ignored (bool | Unset):  Default: False.
    """

    name: str
    kind: OutputQualityKind
    metrics: OutputQualityMetrics
    limits: OutputQualityLimits
    within: bool
    gap: float
    why: str
    ignored: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        kind = self.kind.value

        metrics = self.metrics.to_dict()

        limits = self.limits.to_dict()

        within = self.within

        gap = self.gap

        why = self.why

        ignored = self.ignored

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "kind": kind,
                "metrics": metrics,
                "limits": limits,
                "within": within,
                "gap": gap,
                "why": why,
            }
        )
        if ignored is not UNSET:
            field_dict["ignored"] = ignored

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.output_quality_limits import OutputQualityLimits
        from ..models.output_quality_metrics import OutputQualityMetrics

        d = dict(src_dict)
        name = d.pop("name")

        kind = OutputQualityKind(d.pop("kind"))

        metrics = OutputQualityMetrics.from_dict(d.pop("metrics"))

        limits = OutputQualityLimits.from_dict(d.pop("limits"))

        within = d.pop("within")

        gap = d.pop("gap")

        why = d.pop("why")

        ignored = d.pop("ignored", UNSET)

        output_quality = cls(
            name=name,
            kind=kind,
            metrics=metrics,
            limits=limits,
            within=within,
            gap=gap,
            why=why,
            ignored=ignored,
        )

        output_quality.additional_properties = d
        return output_quality

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
