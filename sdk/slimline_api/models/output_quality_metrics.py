from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OutputQualityMetrics")


@_attrs_define
class OutputQualityMetrics:
    """classifier: top1_agreement (accuracy, f1_macro, accuracy_drop with labels), cosine; small: normalized_rmse (RMSE
    across samples over the baseline's std), rmse, max_abs_error, pearson, decision_agreement (values in [0, 1]); dense:
    cosine_mean, cosine_min, snr_db, max_abs_error; integer: exact_match, sample_exact_match; language_model (a language
    model's logits): next_token_agreement, perplexity_baseline, perplexity, perplexity_increase, continuation_agreement,
    continuation_prefix_agreement, continuation_prompts, max_log_prob_error; non_finite when values became NaN or Inf.

    """

    additional_properties: dict[str, float | None] = _attrs_field(
        init=False, factory=dict
    )

    def to_dict(self) -> dict[str, Any]:

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            field_dict[prop_name] = prop

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        output_quality_metrics = cls()

        additional_properties = {}
        for prop_name, prop_dict in d.items():

            def _parse_additional_property(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            additional_property = _parse_additional_property(prop_dict)

            additional_properties[prop_name] = additional_property

        output_quality_metrics.additional_properties = additional_properties
        return output_quality_metrics

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> float | None:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: float | None) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
