from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_split import DataSplit
    from ..models.evaluation import Evaluation
    from ..models.prune_pass import PrunePass
    from ..models.quality_limit import QualityLimit
    from ..models.quantize_pass import QuantizePass
    from ..models.target import Target
    from ..models.transfer_pass import TransferPass
    from ..models.tune import Tune
    from ..models.weight_only_pass import WeightOnlyPass


T = TypeVar("T", bound="Recipe")


@_attrs_define
class Recipe:
    """What to do to the model. A recipe that names nothing means: quantize, mode auto, on CPU.

    Attributes:
        target (Target | Unset): Where the optimized model will run; latency is measured there.
        passes (list[PrunePass | QuantizePass | TransferPass | WeightOnlyPass] | Unset):
        quality (QualityLimit | Unset): How much worse the optimized model may be than the original, judged on every
            output.

            Each output is judged with the metric that fits its kind, and the worst output decides: accuracy drop
            for the classifier output the labels belong to; top-1 agreement for other classifier outputs; for small
            per-sample outputs (scores, probabilities, regressions) the error across samples (RMSE over the
            baseline's spread) and, for values in [0, 1], agreement of the decision at `decision_threshold`;
            per-sample cosine for dense outputs; exact match for integer and bool outputs. `outputs` sets the kind
            or a limit per output, or ignores one. A language model's logits (see `evaluation.task`) are judged on
            tokens: next-token agreement and the perplexity increase (and greedy continuation, when its limit is set).
        split (DataSplit | Unset): Reproducible split of the dataset into calibration and evaluation samples (no
            overlap).
        evaluation (Evaluation | Unset): How the original and the optimized model are run for the verdict.
        tune (None | Tune | Unset): Search the passes' options for the best model within an accuracy limit instead of
            running them once as written.
    """

    target: Target | Unset = UNSET
    passes: list[PrunePass | QuantizePass | TransferPass | WeightOnlyPass] | Unset = (
        UNSET
    )
    quality: QualityLimit | Unset = UNSET
    split: DataSplit | Unset = UNSET
    evaluation: Evaluation | Unset = UNSET
    tune: None | Tune | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.prune_pass import PrunePass
        from ..models.quantize_pass import QuantizePass
        from ..models.transfer_pass import TransferPass
        from ..models.tune import Tune

        target: dict[str, Any] | Unset = UNSET
        if not isinstance(self.target, Unset):
            target = self.target.to_dict()

        passes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.passes, Unset):
            passes = []
            for passes_item_data in self.passes:
                passes_item: dict[str, Any]
                if (
                    isinstance(passes_item_data, QuantizePass)
                    or isinstance(passes_item_data, PrunePass)
                    or isinstance(passes_item_data, TransferPass)
                ):
                    passes_item = passes_item_data.to_dict()
                else:
                    passes_item = passes_item_data.to_dict()

                passes.append(passes_item)

        quality: dict[str, Any] | Unset = UNSET
        if not isinstance(self.quality, Unset):
            quality = self.quality.to_dict()

        split: dict[str, Any] | Unset = UNSET
        if not isinstance(self.split, Unset):
            split = self.split.to_dict()

        evaluation: dict[str, Any] | Unset = UNSET
        if not isinstance(self.evaluation, Unset):
            evaluation = self.evaluation.to_dict()

        tune: dict[str, Any] | None | Unset
        if isinstance(self.tune, Unset):
            tune = UNSET
        elif isinstance(self.tune, Tune):
            tune = self.tune.to_dict()
        else:
            tune = self.tune

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if target is not UNSET:
            field_dict["target"] = target
        if passes is not UNSET:
            field_dict["passes"] = passes
        if quality is not UNSET:
            field_dict["quality"] = quality
        if split is not UNSET:
            field_dict["split"] = split
        if evaluation is not UNSET:
            field_dict["evaluation"] = evaluation
        if tune is not UNSET:
            field_dict["tune"] = tune

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.data_split import DataSplit
        from ..models.evaluation import Evaluation
        from ..models.prune_pass import PrunePass
        from ..models.quality_limit import QualityLimit
        from ..models.quantize_pass import QuantizePass
        from ..models.target import Target
        from ..models.transfer_pass import TransferPass
        from ..models.tune import Tune
        from ..models.weight_only_pass import WeightOnlyPass

        d = dict(src_dict)
        _target = d.pop("target", UNSET)
        target: Target | Unset
        if isinstance(_target, Unset):
            target = UNSET
        else:
            target = Target.from_dict(_target)

        _passes = d.pop("passes", UNSET)
        passes: (
            list[PrunePass | QuantizePass | TransferPass | WeightOnlyPass] | Unset
        ) = UNSET
        if _passes is not UNSET:
            passes = []
            for passes_item_data in _passes:

                def _parse_passes_item(
                    data: object,
                ) -> PrunePass | QuantizePass | TransferPass | WeightOnlyPass:
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        passes_item_type_0 = QuantizePass.from_dict(data)

                        return passes_item_type_0
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        passes_item_type_1 = PrunePass.from_dict(data)

                        return passes_item_type_1
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        passes_item_type_2 = TransferPass.from_dict(data)

                        return passes_item_type_2
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    if not isinstance(data, dict):
                        raise TypeError()
                    passes_item_type_3 = WeightOnlyPass.from_dict(data)

                    return passes_item_type_3

                passes_item = _parse_passes_item(passes_item_data)

                passes.append(passes_item)

        _quality = d.pop("quality", UNSET)
        quality: QualityLimit | Unset
        if isinstance(_quality, Unset):
            quality = UNSET
        else:
            quality = QualityLimit.from_dict(_quality)

        _split = d.pop("split", UNSET)
        split: DataSplit | Unset
        if isinstance(_split, Unset):
            split = UNSET
        else:
            split = DataSplit.from_dict(_split)

        _evaluation = d.pop("evaluation", UNSET)
        evaluation: Evaluation | Unset
        if isinstance(_evaluation, Unset):
            evaluation = UNSET
        else:
            evaluation = Evaluation.from_dict(_evaluation)

        def _parse_tune(data: object) -> None | Tune | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tune_type_0 = Tune.from_dict(data)

                return tune_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Tune | Unset, data)

        tune = _parse_tune(d.pop("tune", UNSET))

        recipe = cls(
            target=target,
            passes=passes,
            quality=quality,
            split=split,
            evaluation=evaluation,
            tune=tune,
        )

        return recipe
