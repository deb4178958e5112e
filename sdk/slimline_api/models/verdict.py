from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.verdict_judged_by import VerdictJudgedBy

if TYPE_CHECKING:
    from ..models.output_judged import OutputJudged
    from ..models.verdict_state import VerdictState


T = TypeVar("T", bound="Verdict")


@_attrs_define
class Verdict:
    """Is the optimized model within the quality limit on every output? The worst output decides.

    Attributes:
        within (bool):
        decided_by (None | str): The output closest to (or furthest beyond) its limit.
        why (str):
        judged_by (VerdictJudgedBy): `rollout`: a stateful model, each variant carrying its own state through ordered
            sequences.
        state (VerdictState): State pairs, input -> output (empty for a stateless model).
        sequences (int | None):
        steps (int): Samples (steps of the rollout) judged.
        outputs (list[OutputJudged]):
    """

    within: bool
    decided_by: None | str
    why: str
    judged_by: VerdictJudgedBy
    state: VerdictState
    sequences: int | None
    steps: int
    outputs: list[OutputJudged]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        within = self.within

        decided_by: None | str
        decided_by = self.decided_by

        why = self.why

        judged_by = self.judged_by.value

        state = self.state.to_dict()

        sequences: int | None
        sequences = self.sequences

        steps = self.steps

        outputs = []
        for outputs_item_data in self.outputs:
            outputs_item = outputs_item_data.to_dict()
            outputs.append(outputs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "within": within,
                "decided_by": decided_by,
                "why": why,
                "judged_by": judged_by,
                "state": state,
                "sequences": sequences,
                "steps": steps,
                "outputs": outputs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.output_judged import OutputJudged
        from ..models.verdict_state import VerdictState

        d = dict(src_dict)
        within = d.pop("within")

        def _parse_decided_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        decided_by = _parse_decided_by(d.pop("decided_by"))

        why = d.pop("why")

        judged_by = VerdictJudgedBy(d.pop("judged_by"))

        state = VerdictState.from_dict(d.pop("state"))

        def _parse_sequences(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        sequences = _parse_sequences(d.pop("sequences"))

        steps = d.pop("steps")

        outputs = []
        _outputs = d.pop("outputs")
        for outputs_item_data in _outputs:
            outputs_item = OutputJudged.from_dict(outputs_item_data)

            outputs.append(outputs_item)

        verdict = cls(
            within=within,
            decided_by=decided_by,
            why=why,
            judged_by=judged_by,
            state=state,
            sequences=sequences,
            steps=steps,
            outputs=outputs,
        )

        verdict.additional_properties = d
        return verdict

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
