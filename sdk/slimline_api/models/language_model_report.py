from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.language_model_report_kind import LanguageModelReportKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.encoder_latency import EncoderLatency
    from ..models.ratio import Ratio
    from ..models.token_latency import TokenLatency


T = TypeVar("T", bound="LanguageModelReport")


@_attrs_define
class LanguageModelReport:
    """A token model, judged and timed on tokens (worker/engine/lm_eval).

    Attributes:
        kind (LanguageModelReportKind): `decoder`: judged on next tokens, perplexity and greedy continuation, timed by
            prefill and decode; `encoder`: token ids in, no vocabulary out (judged per output as usual), timed per length.
        input_ids (str):
        logits (None | str):
        vocab_size (int | None):
        attention_mask (None | str):
        kv_cache (bool):
        cache_pairs (int):
        sequences (int): Evaluation sequences.
        next_token_agreement (float | None):
        perplexity_baseline (float | None):
        perplexity_optimized (float | None):
        perplexity_increase (float | None): perplexity_optimized / perplexity_baseline - 1.
        continuation_agreement (float | None): Share of generated tokens equal, position by position.
        continuation_prefix_agreement (float | None): Mean share of each continuation generated before the first
            different token.
        baseline_latency (None | TokenLatency):
        optimized_latency (None | TokenLatency):
        prefill_speedup (None | Ratio):
        decode_speedup (None | Ratio):
        tokens_per_sequence (int | None | Unset):
        prompt_length (int | None | Unset):
        continuation_tokens (int | None | Unset):
        prompts (int | None | Unset): Sequences whose prompt was continued greedily.
        encoder_latency (list[EncoderLatency] | Unset):
        notes (list[str] | Unset):
    """

    kind: LanguageModelReportKind
    input_ids: str
    logits: None | str
    vocab_size: int | None
    attention_mask: None | str
    kv_cache: bool
    cache_pairs: int
    sequences: int
    next_token_agreement: float | None
    perplexity_baseline: float | None
    perplexity_optimized: float | None
    perplexity_increase: float | None
    continuation_agreement: float | None
    continuation_prefix_agreement: float | None
    baseline_latency: None | TokenLatency
    optimized_latency: None | TokenLatency
    prefill_speedup: None | Ratio
    decode_speedup: None | Ratio
    tokens_per_sequence: int | None | Unset = UNSET
    prompt_length: int | None | Unset = UNSET
    continuation_tokens: int | None | Unset = UNSET
    prompts: int | None | Unset = UNSET
    encoder_latency: list[EncoderLatency] | Unset = UNSET
    notes: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.ratio import Ratio
        from ..models.token_latency import TokenLatency

        kind = self.kind.value

        input_ids = self.input_ids

        logits: None | str
        logits = self.logits

        vocab_size: int | None
        vocab_size = self.vocab_size

        attention_mask: None | str
        attention_mask = self.attention_mask

        kv_cache = self.kv_cache

        cache_pairs = self.cache_pairs

        sequences = self.sequences

        next_token_agreement: float | None
        next_token_agreement = self.next_token_agreement

        perplexity_baseline: float | None
        perplexity_baseline = self.perplexity_baseline

        perplexity_optimized: float | None
        perplexity_optimized = self.perplexity_optimized

        perplexity_increase: float | None
        perplexity_increase = self.perplexity_increase

        continuation_agreement: float | None
        continuation_agreement = self.continuation_agreement

        continuation_prefix_agreement: float | None
        continuation_prefix_agreement = self.continuation_prefix_agreement

        baseline_latency: dict[str, Any] | None
        if isinstance(self.baseline_latency, TokenLatency):
            baseline_latency = self.baseline_latency.to_dict()
        else:
            baseline_latency = self.baseline_latency

        optimized_latency: dict[str, Any] | None
        if isinstance(self.optimized_latency, TokenLatency):
            optimized_latency = self.optimized_latency.to_dict()
        else:
            optimized_latency = self.optimized_latency

        prefill_speedup: dict[str, Any] | None
        if isinstance(self.prefill_speedup, Ratio):
            prefill_speedup = self.prefill_speedup.to_dict()
        else:
            prefill_speedup = self.prefill_speedup

        decode_speedup: dict[str, Any] | None
        if isinstance(self.decode_speedup, Ratio):
            decode_speedup = self.decode_speedup.to_dict()
        else:
            decode_speedup = self.decode_speedup

        tokens_per_sequence: int | None | Unset
        if isinstance(self.tokens_per_sequence, Unset):
            tokens_per_sequence = UNSET
        else:
            tokens_per_sequence = self.tokens_per_sequence

        prompt_length: int | None | Unset
        if isinstance(self.prompt_length, Unset):
            prompt_length = UNSET
        else:
            prompt_length = self.prompt_length

        continuation_tokens: int | None | Unset
        if isinstance(self.continuation_tokens, Unset):
            continuation_tokens = UNSET
        else:
            continuation_tokens = self.continuation_tokens

        prompts: int | None | Unset
        if isinstance(self.prompts, Unset):
            prompts = UNSET
        else:
            prompts = self.prompts

        encoder_latency: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.encoder_latency, Unset):
            encoder_latency = []
            for encoder_latency_item_data in self.encoder_latency:
                encoder_latency_item = encoder_latency_item_data.to_dict()
                encoder_latency.append(encoder_latency_item)

        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "input_ids": input_ids,
                "logits": logits,
                "vocab_size": vocab_size,
                "attention_mask": attention_mask,
                "kv_cache": kv_cache,
                "cache_pairs": cache_pairs,
                "sequences": sequences,
                "next_token_agreement": next_token_agreement,
                "perplexity_baseline": perplexity_baseline,
                "perplexity_optimized": perplexity_optimized,
                "perplexity_increase": perplexity_increase,
                "continuation_agreement": continuation_agreement,
                "continuation_prefix_agreement": continuation_prefix_agreement,
                "baseline_latency": baseline_latency,
                "optimized_latency": optimized_latency,
                "prefill_speedup": prefill_speedup,
                "decode_speedup": decode_speedup,
            }
        )
        if tokens_per_sequence is not UNSET:
            field_dict["tokens_per_sequence"] = tokens_per_sequence
        if prompt_length is not UNSET:
            field_dict["prompt_length"] = prompt_length
        if continuation_tokens is not UNSET:
            field_dict["continuation_tokens"] = continuation_tokens
        if prompts is not UNSET:
            field_dict["prompts"] = prompts
        if encoder_latency is not UNSET:
            field_dict["encoder_latency"] = encoder_latency
        if notes is not UNSET:
            field_dict["notes"] = notes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.encoder_latency import EncoderLatency
        from ..models.ratio import Ratio
        from ..models.token_latency import TokenLatency

        d = dict(src_dict)
        kind = LanguageModelReportKind(d.pop("kind"))

        input_ids = d.pop("input_ids")

        def _parse_logits(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        logits = _parse_logits(d.pop("logits"))

        def _parse_vocab_size(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        vocab_size = _parse_vocab_size(d.pop("vocab_size"))

        def _parse_attention_mask(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        attention_mask = _parse_attention_mask(d.pop("attention_mask"))

        kv_cache = d.pop("kv_cache")

        cache_pairs = d.pop("cache_pairs")

        sequences = d.pop("sequences")

        def _parse_next_token_agreement(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        next_token_agreement = _parse_next_token_agreement(
            d.pop("next_token_agreement")
        )

        def _parse_perplexity_baseline(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        perplexity_baseline = _parse_perplexity_baseline(d.pop("perplexity_baseline"))

        def _parse_perplexity_optimized(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        perplexity_optimized = _parse_perplexity_optimized(
            d.pop("perplexity_optimized")
        )

        def _parse_perplexity_increase(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        perplexity_increase = _parse_perplexity_increase(d.pop("perplexity_increase"))

        def _parse_continuation_agreement(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        continuation_agreement = _parse_continuation_agreement(
            d.pop("continuation_agreement")
        )

        def _parse_continuation_prefix_agreement(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        continuation_prefix_agreement = _parse_continuation_prefix_agreement(
            d.pop("continuation_prefix_agreement")
        )

        def _parse_baseline_latency(data: object) -> None | TokenLatency:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                baseline_latency_type_0 = TokenLatency.from_dict(data)

                return baseline_latency_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenLatency, data)

        baseline_latency = _parse_baseline_latency(d.pop("baseline_latency"))

        def _parse_optimized_latency(data: object) -> None | TokenLatency:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                optimized_latency_type_0 = TokenLatency.from_dict(data)

                return optimized_latency_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenLatency, data)

        optimized_latency = _parse_optimized_latency(d.pop("optimized_latency"))

        def _parse_prefill_speedup(data: object) -> None | Ratio:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                prefill_speedup_type_0 = Ratio.from_dict(data)

                return prefill_speedup_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Ratio, data)

        prefill_speedup = _parse_prefill_speedup(d.pop("prefill_speedup"))

        def _parse_decode_speedup(data: object) -> None | Ratio:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                decode_speedup_type_0 = Ratio.from_dict(data)

                return decode_speedup_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Ratio, data)

        decode_speedup = _parse_decode_speedup(d.pop("decode_speedup"))

        def _parse_tokens_per_sequence(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tokens_per_sequence = _parse_tokens_per_sequence(
            d.pop("tokens_per_sequence", UNSET)
        )

        def _parse_prompt_length(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        prompt_length = _parse_prompt_length(d.pop("prompt_length", UNSET))

        def _parse_continuation_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        continuation_tokens = _parse_continuation_tokens(
            d.pop("continuation_tokens", UNSET)
        )

        def _parse_prompts(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        prompts = _parse_prompts(d.pop("prompts", UNSET))

        _encoder_latency = d.pop("encoder_latency", UNSET)
        encoder_latency: list[EncoderLatency] | Unset = UNSET
        if _encoder_latency is not UNSET:
            encoder_latency = []
            for encoder_latency_item_data in _encoder_latency:
                encoder_latency_item = EncoderLatency.from_dict(
                    encoder_latency_item_data
                )

                encoder_latency.append(encoder_latency_item)

        notes = cast(list[str], d.pop("notes", UNSET))

        language_model_report = cls(
            kind=kind,
            input_ids=input_ids,
            logits=logits,
            vocab_size=vocab_size,
            attention_mask=attention_mask,
            kv_cache=kv_cache,
            cache_pairs=cache_pairs,
            sequences=sequences,
            next_token_agreement=next_token_agreement,
            perplexity_baseline=perplexity_baseline,
            perplexity_optimized=perplexity_optimized,
            perplexity_increase=perplexity_increase,
            continuation_agreement=continuation_agreement,
            continuation_prefix_agreement=continuation_prefix_agreement,
            baseline_latency=baseline_latency,
            optimized_latency=optimized_latency,
            prefill_speedup=prefill_speedup,
            decode_speedup=decode_speedup,
            tokens_per_sequence=tokens_per_sequence,
            prompt_length=prompt_length,
            continuation_tokens=continuation_tokens,
            prompts=prompts,
            encoder_latency=encoder_latency,
            notes=notes,
        )

        language_model_report.additional_properties = d
        return language_model_report

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
