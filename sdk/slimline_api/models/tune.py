from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.tune_objective import TuneObjective
from ..models.tune_sampler import TuneSampler
from ..types import UNSET, Unset

T = TypeVar("T", bound="Tune")


@_attrs_define
class Tune:
    """Search the recipe's options for the best model that stays within an accuracy limit (built on Optuna).

    The search space comes from the passes: for `quantize`, the mode (when `auto`), calibration method,
    per-channel scales, activation type, whether an image stem stays in float (when the net has one), and
    how many of the most sensitive nodes stay in float (ranked by measuring each node's cost on the
    evaluation split); for `prune`, the sparsity. Each trial is a
    job event; the report holds every trial, the Pareto front and the sensitivity ranking. When no
    candidate meets the limit the job still succeeds with the closest one, `goal_met: false` and the
    shortfall in words.

        Attributes:
            objective (TuneObjective | Unset): What to improve: `latency` (p50 at the target batch size), `size` (file
                bytes) or `throughput` (samples per second at the target batch size), each measured against the input. Default:
                TuneObjective.LATENCY.
            max_accuracy_drop (float | None | Unset): Accuracy the search may give up, in accuracy units (0.01 = 1 point)
                or, with `relative`, as a fraction of the baseline accuracy. Applies when the dataset has labels. Unset: the
                recipe's `quality.max_accuracy_drop`.
            relative (bool | None | Unset): Read `max_accuracy_drop` as a fraction of the baseline accuracy. Unset:
                `quality.relative`.
            min_top1_agreement (float | None | Unset): Without labels, classifier-like outputs: the least top-1 agreement
                with the original model. Unset: `quality.min_top1_agreement`.
            min_cosine (float | None | Unset): Without labels, other outputs: the least mean cosine similarity to the
                original model. Unset: `quality.min_cosine`.
            trials (int | Unset): Distinct candidates to build and measure (repeated proposals are free). Default: 20.
            timeout_s (float | None | Unset): Stop starting new trials after this many seconds of tuning; the best candidate
                found so far is kept. Unset: only `trials` bounds the search.
            sampler (TuneSampler | Unset): How trials are proposed: `tpe` (Optuna's Tree-structured Parzen Estimator, aware
                of the accuracy constraint), `random`, or `grid` (a coarse grid, visited in a seeded order). Default:
                TuneSampler.TPE.
            seed (int | Unset): Seeds the sampler: the same recipe and data propose the same trials. Default: 0.
    """

    objective: TuneObjective | Unset = TuneObjective.LATENCY
    max_accuracy_drop: float | None | Unset = UNSET
    relative: bool | None | Unset = UNSET
    min_top1_agreement: float | None | Unset = UNSET
    min_cosine: float | None | Unset = UNSET
    trials: int | Unset = 20
    timeout_s: float | None | Unset = UNSET
    sampler: TuneSampler | Unset = TuneSampler.TPE
    seed: int | Unset = 0

    def to_dict(self) -> dict[str, Any]:
        objective: str | Unset = UNSET
        if not isinstance(self.objective, Unset):
            objective = self.objective.value

        max_accuracy_drop: float | None | Unset
        if isinstance(self.max_accuracy_drop, Unset):
            max_accuracy_drop = UNSET
        else:
            max_accuracy_drop = self.max_accuracy_drop

        relative: bool | None | Unset
        if isinstance(self.relative, Unset):
            relative = UNSET
        else:
            relative = self.relative

        min_top1_agreement: float | None | Unset
        if isinstance(self.min_top1_agreement, Unset):
            min_top1_agreement = UNSET
        else:
            min_top1_agreement = self.min_top1_agreement

        min_cosine: float | None | Unset
        if isinstance(self.min_cosine, Unset):
            min_cosine = UNSET
        else:
            min_cosine = self.min_cosine

        trials = self.trials

        timeout_s: float | None | Unset
        if isinstance(self.timeout_s, Unset):
            timeout_s = UNSET
        else:
            timeout_s = self.timeout_s

        sampler: str | Unset = UNSET
        if not isinstance(self.sampler, Unset):
            sampler = self.sampler.value

        seed = self.seed

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if objective is not UNSET:
            field_dict["objective"] = objective
        if max_accuracy_drop is not UNSET:
            field_dict["max_accuracy_drop"] = max_accuracy_drop
        if relative is not UNSET:
            field_dict["relative"] = relative
        if min_top1_agreement is not UNSET:
            field_dict["min_top1_agreement"] = min_top1_agreement
        if min_cosine is not UNSET:
            field_dict["min_cosine"] = min_cosine
        if trials is not UNSET:
            field_dict["trials"] = trials
        if timeout_s is not UNSET:
            field_dict["timeout_s"] = timeout_s
        if sampler is not UNSET:
            field_dict["sampler"] = sampler
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _objective = d.pop("objective", UNSET)
        objective: TuneObjective | Unset
        if isinstance(_objective, Unset):
            objective = UNSET
        else:
            objective = TuneObjective(_objective)

        def _parse_max_accuracy_drop(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_accuracy_drop = _parse_max_accuracy_drop(d.pop("max_accuracy_drop", UNSET))

        def _parse_relative(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        relative = _parse_relative(d.pop("relative", UNSET))

        def _parse_min_top1_agreement(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_top1_agreement = _parse_min_top1_agreement(
            d.pop("min_top1_agreement", UNSET)
        )

        def _parse_min_cosine(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_cosine = _parse_min_cosine(d.pop("min_cosine", UNSET))

        trials = d.pop("trials", UNSET)

        def _parse_timeout_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        timeout_s = _parse_timeout_s(d.pop("timeout_s", UNSET))

        _sampler = d.pop("sampler", UNSET)
        sampler: TuneSampler | Unset
        if isinstance(_sampler, Unset):
            sampler = UNSET
        else:
            sampler = TuneSampler(_sampler)

        seed = d.pop("seed", UNSET)

        tune = cls(
            objective=objective,
            max_accuracy_drop=max_accuracy_drop,
            relative=relative,
            min_top1_agreement=min_top1_agreement,
            min_cosine=min_cosine,
            trials=trials,
            timeout_s=timeout_s,
            sampler=sampler,
            seed=seed,
        )

        return tune
