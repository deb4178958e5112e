from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.evaluation_task import EvaluationTask
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.evaluation_state_type_0 import EvaluationStateType0


T = TypeVar("T", bound="Evaluation")


@_attrs_define
class Evaluation:
    """How the original and the optimized model are run for the verdict.

    Attributes:
        state (EvaluationStateType0 | None | Unset): Recurrent state pairs, model input -> model output (e.g. `{"state":
            "stateN"}`). A stateful model is judged by rollout: each variant carries its own state from its own previous
            step through ordered sequences (the dataset's optional `sequence_id` array marks them; without it the data is
            one sequence in order). Unset: pairs are detected (an output with the input's dtype and shape, named like
            `state`/`stateN`, `h`/`hn`, `c`/`cn`, `past_key_values.*`/`present.*`). `{}`: no state, every sample is judged
            on its own. A language model's KV cache (`past_key_values.*` -> `present.*`) is not judged by rollout: it is
            decoded (see `task`).
        task (EvaluationTask | Unset): `language_model`: the model is judged on tokens (next-token agreement,
            perplexity, greedy continuation; `quality.min_next_token_agreement`, `quality.max_perplexity_increase`) and
            timed by prefill and decode. The dataset holds `input_ids` [sequences, tokens] (and `attention_mask` when the
            model takes one, 1 = a real token), never arrays for a KV cache's `past_key_values.*` inputs: an empty past is
            fed, then each model's own `present.*`. `auto`: a language model when it has an integer `input_ids` input and a
            [batch, sequence, vocabulary] float output (`logits`, or the only such output) and `state` is unset; a model
            with `input_ids` but no such output (an encoder) is judged as usual and timed per sequence length (16, 64, 256
            where they fit). `other`: never. Default: EvaluationTask.AUTO.
        prompt_length (int | Unset): Language models: the prompt for greedy continuation, the first tokens of an
            evaluation sequence (and the prompt whose prefill is timed). Cut to fit the dataset's sequences. Default: 8.
        continuation_tokens (int | Unset): Language models: tokens each model generates greedily from every prompt (0:
            none), compared position by position; also the tokens timed when decoding. A prompt and its continuation stay
            within the dataset's sequence length (the longest the model is known to take). Default: 16.
        continuation_prompts (int | Unset): Language models: at most this many evaluation sequences prompt a
            continuation (the first ones whose prompt is all real tokens). Default: 32.
    """

    state: EvaluationStateType0 | None | Unset = UNSET
    task: EvaluationTask | Unset = EvaluationTask.AUTO
    prompt_length: int | Unset = 8
    continuation_tokens: int | Unset = 16
    continuation_prompts: int | Unset = 32

    def to_dict(self) -> dict[str, Any]:
        from ..models.evaluation_state_type_0 import EvaluationStateType0

        state: dict[str, Any] | None | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, EvaluationStateType0):
            state = self.state.to_dict()
        else:
            state = self.state

        task: str | Unset = UNSET
        if not isinstance(self.task, Unset):
            task = self.task.value

        prompt_length = self.prompt_length

        continuation_tokens = self.continuation_tokens

        continuation_prompts = self.continuation_prompts

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if state is not UNSET:
            field_dict["state"] = state
        if task is not UNSET:
            field_dict["task"] = task
        if prompt_length is not UNSET:
            field_dict["prompt_length"] = prompt_length
        if continuation_tokens is not UNSET:
            field_dict["continuation_tokens"] = continuation_tokens
        if continuation_prompts is not UNSET:
            field_dict["continuation_prompts"] = continuation_prompts

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.evaluation_state_type_0 import EvaluationStateType0

        d = dict(src_dict)

        def _parse_state(data: object) -> EvaluationStateType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                state_type_0 = EvaluationStateType0.from_dict(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EvaluationStateType0 | None | Unset, data)

        state = _parse_state(d.pop("state", UNSET))

        _task = d.pop("task", UNSET)
        task: EvaluationTask | Unset
        if isinstance(_task, Unset):
            task = UNSET
        else:
            task = EvaluationTask(_task)

        prompt_length = d.pop("prompt_length", UNSET)

        continuation_tokens = d.pop("continuation_tokens", UNSET)

        continuation_prompts = d.pop("continuation_prompts", UNSET)

        evaluation = cls(
            state=state,
            task=task,
            prompt_length=prompt_length,
            continuation_tokens=continuation_tokens,
            continuation_prompts=continuation_prompts,
        )

        return evaluation
