from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

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
            on its own.
    """

    state: EvaluationStateType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.evaluation_state_type_0 import EvaluationStateType0

        state: dict[str, Any] | None | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, EvaluationStateType0):
            state = self.state.to_dict()
        else:
            state = self.state

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if state is not UNSET:
            field_dict["state"] = state

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

        evaluation = cls(
            state=state,
        )

        return evaluation
