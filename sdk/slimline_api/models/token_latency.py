from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TokenLatency")


@_attrs_define
class TokenLatency:
    """One model's batch-1 latency as a language model: the prompt's prefill, then token-by-token decoding.

    Attributes:
        prompt_length (int):
        decode_tokens (int): Tokens decoded per timed run (one at a time).
        kv_cache (bool): Decoded through the KV cache; else each step runs the whole sequence.
        prefill_ms_p50 (float):
        decode_ms_per_token_p50 (float):
        decode_tokens_per_s (float): decode_tokens / the median run's time.
    """

    prompt_length: int
    decode_tokens: int
    kv_cache: bool
    prefill_ms_p50: float
    decode_ms_per_token_p50: float
    decode_tokens_per_s: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt_length = self.prompt_length

        decode_tokens = self.decode_tokens

        kv_cache = self.kv_cache

        prefill_ms_p50 = self.prefill_ms_p50

        decode_ms_per_token_p50 = self.decode_ms_per_token_p50

        decode_tokens_per_s = self.decode_tokens_per_s

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt_length": prompt_length,
                "decode_tokens": decode_tokens,
                "kv_cache": kv_cache,
                "prefill_ms_p50": prefill_ms_p50,
                "decode_ms_per_token_p50": decode_ms_per_token_p50,
                "decode_tokens_per_s": decode_tokens_per_s,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prompt_length = d.pop("prompt_length")

        decode_tokens = d.pop("decode_tokens")

        kv_cache = d.pop("kv_cache")

        prefill_ms_p50 = d.pop("prefill_ms_p50")

        decode_ms_per_token_p50 = d.pop("decode_ms_per_token_p50")

        decode_tokens_per_s = d.pop("decode_tokens_per_s")

        token_latency = cls(
            prompt_length=prompt_length,
            decode_tokens=decode_tokens,
            kv_cache=kv_cache,
            prefill_ms_p50=prefill_ms_p50,
            decode_ms_per_token_p50=decode_ms_per_token_p50,
            decode_tokens_per_s=decode_tokens_per_s,
        )

        token_latency.additional_properties = d
        return token_latency

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
