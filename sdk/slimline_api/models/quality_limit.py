from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.quality_limit_outputs import QualityLimitOutputs


T = TypeVar("T", bound="QualityLimit")


@_attrs_define
class QualityLimit:
    """How much worse the optimized model may be than the original, judged on every output.

    Each output is judged with the metric that fits its kind, and the worst output decides: accuracy drop
    for the classifier output the labels belong to; top-1 agreement for other classifier outputs; for small
    per-sample outputs (scores, probabilities, regressions) the error across samples (RMSE over the
    baseline's spread) and, for values in [0, 1], agreement of the decision at `decision_threshold`;
    per-sample cosine for dense outputs; exact match for integer and bool outputs. `outputs` sets the kind
    or a limit per output, or ignores one. A language model's logits (see `evaluation.task`) are judged on
    tokens: next-token agreement and the perplexity increase (and greedy continuation, when its limit is set).

        Attributes:
            max_accuracy_drop (float | Unset): Largest accuracy loss accepted (0.01 = 1 point; see `relative`). Default:
                0.01.
            relative (bool | Unset): Read `max_accuracy_drop` as a fraction of the baseline accuracy (0.01 = 1 % of it).
                Default: False.
            min_top1_agreement (float | Unset): Classifier outputs without labels. Default: 0.99.
            min_cosine (float | Unset): Dense outputs: least mean per-sample cosine. Default: 0.99.
            max_normalized_rmse (float | Unset): Small outputs: largest RMSE across samples, over the baseline's spread
                (std). Default: 0.1.
            min_decision_agreement (float | Unset): Small outputs with values in [0, 1]: same side of `decision_threshold`.
                Default: 0.99.
            decision_threshold (float | Unset): Small outputs with values in [0, 1]: the decision threshold. Default: 0.5.
            min_exact_match (float | Unset): Integer and bool outputs: equal elements. Default: 0.99.
            min_next_token_agreement (float | Unset): Language models: the least share of real (unmasked) positions where
                the optimized model's most likely next token is the original's. Default: 0.95.
            max_perplexity_increase (float | Unset): Language models: the largest relative rise of perplexity on the
                dataset's own next tokens (0.05 = +5 %). Default: 0.05.
            min_continuation_agreement (float | None | Unset): Language models: the least share of greedily generated tokens
                equal to the original's, position by position (`evaluation.continuation_tokens` from each prompt). Unset:
                reported, not judged (one early difference changes every token after it).
            outputs (QualityLimitOutputs | Unset): Per output name: its kind, limits that replace the defaults above, or
                `ignore`.
    """

    max_accuracy_drop: float | Unset = 0.01
    relative: bool | Unset = False
    min_top1_agreement: float | Unset = 0.99
    min_cosine: float | Unset = 0.99
    max_normalized_rmse: float | Unset = 0.1
    min_decision_agreement: float | Unset = 0.99
    decision_threshold: float | Unset = 0.5
    min_exact_match: float | Unset = 0.99
    min_next_token_agreement: float | Unset = 0.95
    max_perplexity_increase: float | Unset = 0.05
    min_continuation_agreement: float | None | Unset = UNSET
    outputs: QualityLimitOutputs | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        max_accuracy_drop = self.max_accuracy_drop

        relative = self.relative

        min_top1_agreement = self.min_top1_agreement

        min_cosine = self.min_cosine

        max_normalized_rmse = self.max_normalized_rmse

        min_decision_agreement = self.min_decision_agreement

        decision_threshold = self.decision_threshold

        min_exact_match = self.min_exact_match

        min_next_token_agreement = self.min_next_token_agreement

        max_perplexity_increase = self.max_perplexity_increase

        min_continuation_agreement: float | None | Unset
        if isinstance(self.min_continuation_agreement, Unset):
            min_continuation_agreement = UNSET
        else:
            min_continuation_agreement = self.min_continuation_agreement

        outputs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.outputs, Unset):
            outputs = self.outputs.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_accuracy_drop is not UNSET:
            field_dict["max_accuracy_drop"] = max_accuracy_drop
        if relative is not UNSET:
            field_dict["relative"] = relative
        if min_top1_agreement is not UNSET:
            field_dict["min_top1_agreement"] = min_top1_agreement
        if min_cosine is not UNSET:
            field_dict["min_cosine"] = min_cosine
        if max_normalized_rmse is not UNSET:
            field_dict["max_normalized_rmse"] = max_normalized_rmse
        if min_decision_agreement is not UNSET:
            field_dict["min_decision_agreement"] = min_decision_agreement
        if decision_threshold is not UNSET:
            field_dict["decision_threshold"] = decision_threshold
        if min_exact_match is not UNSET:
            field_dict["min_exact_match"] = min_exact_match
        if min_next_token_agreement is not UNSET:
            field_dict["min_next_token_agreement"] = min_next_token_agreement
        if max_perplexity_increase is not UNSET:
            field_dict["max_perplexity_increase"] = max_perplexity_increase
        if min_continuation_agreement is not UNSET:
            field_dict["min_continuation_agreement"] = min_continuation_agreement
        if outputs is not UNSET:
            field_dict["outputs"] = outputs

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.quality_limit_outputs import QualityLimitOutputs

        d = dict(src_dict)
        max_accuracy_drop = d.pop("max_accuracy_drop", UNSET)

        relative = d.pop("relative", UNSET)

        min_top1_agreement = d.pop("min_top1_agreement", UNSET)

        min_cosine = d.pop("min_cosine", UNSET)

        max_normalized_rmse = d.pop("max_normalized_rmse", UNSET)

        min_decision_agreement = d.pop("min_decision_agreement", UNSET)

        decision_threshold = d.pop("decision_threshold", UNSET)

        min_exact_match = d.pop("min_exact_match", UNSET)

        min_next_token_agreement = d.pop("min_next_token_agreement", UNSET)

        max_perplexity_increase = d.pop("max_perplexity_increase", UNSET)

        def _parse_min_continuation_agreement(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_continuation_agreement = _parse_min_continuation_agreement(
            d.pop("min_continuation_agreement", UNSET)
        )

        _outputs = d.pop("outputs", UNSET)
        outputs: QualityLimitOutputs | Unset
        if isinstance(_outputs, Unset):
            outputs = UNSET
        else:
            outputs = QualityLimitOutputs.from_dict(_outputs)

        quality_limit = cls(
            max_accuracy_drop=max_accuracy_drop,
            relative=relative,
            min_top1_agreement=min_top1_agreement,
            min_cosine=min_cosine,
            max_normalized_rmse=max_normalized_rmse,
            min_decision_agreement=min_decision_agreement,
            decision_threshold=decision_threshold,
            min_exact_match=min_exact_match,
            min_next_token_agreement=min_next_token_agreement,
            max_perplexity_increase=max_perplexity_increase,
            min_continuation_agreement=min_continuation_agreement,
            outputs=outputs,
        )

        return quality_limit
