"""The verdict's rules on outputs built here: every output judged with the metric that fits its kind."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.core.schemas.recipe import QualityLimit
from worker.engine import EngineError, evaluate
from worker.engine.modelio import InputSpec
from worker.engine.output_metrics import output_kind
from worker.engine.rollout import detect_state_pairs
from worker.engine.verdict import Judge

RNG = np.random.default_rng(0)
F32 = np.dtype("float32")


def judged(reference: list[np.ndarray], candidate: list[np.ndarray], names: list[str], **limit):  # type: ignore[no-untyped-def]
    return Judge(QualityLimit.model_validate(limit), reference, names, None).judge(candidate)


def by_name(quality) -> dict:  # type: ignore[no-untyped-def]
    return {o["name"]: o for o in quality.per_output}


def test_a_per_sample_probability_is_judged_across_samples_not_by_its_cosine():
    # The streaming detector's failure: cosine of a one-value output is 1 while the decisions are broken.
    probability = RNG.uniform(0, 1, size=(200, 1, 1)).astype(np.float32)
    collapsed = np.full_like(probability, 0.02)  # found "speech" nowhere, same sign everywhere
    quality = judged([probability], [collapsed], ["output"])
    [output] = quality.per_output
    assert output["kind"] == "small" and quality.within is False and quality.decided_by == "output"
    assert output["metrics"]["decision_agreement"] < 0.6 and output["metrics"]["normalized_rmse"] > 1.0
    assert quality.fidelity["cosine_mean"] is None  # never reported as a misleading 1.0
    assert "decision agreement at 0.5" in quality.why


def test_a_small_regression_output_is_judged_by_error_over_the_baseline_spread():
    boxes = RNG.normal(10, 3, size=(100, 4)).astype(np.float32)  # four values, not probabilities, no class name
    assert output_kind(boxes, name="box") == "small"
    close = judged([boxes], [boxes + RNG.normal(0, 0.03, boxes.shape).astype(np.float32)], ["box"])
    far = judged([boxes], [boxes + RNG.normal(0, 1.0, boxes.shape).astype(np.float32)], ["box"])
    assert close.within and close.per_output[0]["metrics"]["pearson"] > 0.99
    assert not far.within and far.per_output[0]["metrics"]["normalized_rmse"] > 0.1
    assert far.per_output[0]["metrics"]["decision_agreement"] is None  # values outside [0, 1]: no decision


def test_the_decision_threshold_is_configurable_per_output():
    score = np.linspace(0, 1, 101, dtype=np.float32)[:, None]
    shifted = score + 0.04
    assert judged([score], [shifted], ["score"], max_normalized_rmse=1.0).within is False  # at 0.5: 4 flips
    relaxed = judged(
        [score], [shifted], ["score"], max_normalized_rmse=1.0, outputs={"score": {"min_decision_agreement": 0.9}}
    )
    assert relaxed.within is True and relaxed.per_output[0]["limits"]["decision_agreement"] == 0.9


def test_dense_outputs_get_cosine_and_snr():
    features = RNG.normal(size=(32, 64)).astype(np.float32)
    quality = judged([features], [features * 1.001], ["features"], outputs={"features": {"kind": "dense"}})
    [output] = quality.per_output
    assert output["kind"] == "dense" and output["metrics"]["cosine_mean"] > 0.999999
    assert output["metrics"]["snr_db"] > 50


def test_integer_outputs_are_judged_by_exact_match():
    ids = RNG.integers(0, 5, size=(100, 6))
    changed = ids.copy()
    changed[:5, 0] = (changed[:5, 0] + 1) % 5  # 5 of 600 elements: 99.17 % still equal
    ok = judged([ids], [changed], ["ids"])
    assert ok.per_output[0]["kind"] == "integer" and ok.within
    assert ok.per_output[0]["metrics"]["sample_exact_match"] == pytest.approx(0.95)
    assert not judged([ids], [changed], ["ids"], min_exact_match=0.995).within


def test_the_worst_of_several_outputs_decides():
    logits = RNG.normal(size=(64, 10)).astype(np.float32)
    embedding = RNG.normal(size=(64, 24)).astype(np.float32)
    broken = embedding + RNG.normal(0, 2.0, embedding.shape).astype(np.float32)
    quality = judged([logits, embedding], [logits, broken], ["logits", "embedding"])
    outputs = by_name(quality)
    assert outputs["logits"]["within"] and outputs["logits"]["kind"] == "classifier"
    assert not outputs["embedding"]["within"]
    assert quality.within is False and quality.decided_by == "embedding"
    assert quality.fidelity["top1_agreement"] == 1.0  # the first output alone would have looked perfect
    ignored = judged(
        [logits, embedding], [logits, broken], ["logits", "embedding"], outputs={"embedding": {"ignore": True}}
    )
    assert ignored.within and by_name(ignored)["embedding"]["ignored"]


def test_labels_are_judged_on_the_output_they_fit():
    labels = RNG.integers(0, 3, size=90)
    scores = np.eye(3, dtype=np.float32)[labels] + RNG.normal(0, 0.1, (90, 3)).astype(np.float32)
    aux = RNG.normal(size=(90, 1)).astype(np.float32)
    judge = Judge(QualityLimit(), [aux, scores], ["aux", "scores"], labels)
    assert judge.labelled == 1 and judge.kinds == ["small", "classifier"]  # labels make 3 values a classifier
    assert judge.baseline_accuracy is not None and judge.baseline_accuracy["top1"] == 1.0
    quality = judge.judge([aux, scores])
    assert quality.accuracy is not None and quality.accuracy["top1"] == 1.0 and quality.within


def test_zero_one_labels_are_judged_on_a_single_probability_output():
    labels = RNG.integers(0, 2, size=200)
    probability = np.clip(labels * 0.8 + RNG.uniform(0, 0.2, 200), 0, 1).astype(np.float32)[:, None, None]
    judge = Judge(QualityLimit(), [probability], ["speech"], labels)
    assert judge.labelled == 0 and judge.baseline_accuracy is not None and judge.baseline_accuracy["top1"] == 1.0
    flipped = probability.copy()
    flipped[:4] = 1.0 - flipped[:4]  # 4 of 200 decisions change: 2 points of accuracy
    quality = judge.judge([flipped])
    [output] = quality.per_output
    assert output["limits"] == {"accuracy_drop": 0.01} and output["metrics"]["accuracy_drop"] == pytest.approx(0.02)
    assert quality.within is False and quality.accuracy is not None and quality.accuracy["top1"] == 0.98
    assert "accuracy drop 2.00 points" in quality.why


def test_an_output_that_turns_nan_fails_whatever_else():
    features = RNG.normal(size=(16, 32)).astype(np.float32)
    broken = features.copy()
    broken[0, 0] = np.nan
    quality = judged([features], [broken], ["features"])
    assert not quality.within and "NaN or Inf" in quality.why


def test_limits_that_name_no_output_are_refused():
    with pytest.raises(EngineError) as info:
        judged(
            [np.zeros((4, 2), np.float32)], [np.zeros((4, 2), np.float32)], ["y"], outputs={"nope": {"ignore": True}}
        )
    assert info.value.code == "invalid_recipe" and "'nope'" in info.value.message
    with pytest.raises(EngineError, match="at least one must be judged"):
        judged([np.zeros((4, 2), np.float32)], [np.zeros((4, 2), np.float32)], ["y"], outputs={"y": {"ignore": True}})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        hnp.arrays(
            st.sampled_from([np.float32, np.int64, np.bool_]),
            hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6).map(lambda s: (5, *s)),
            elements={"allow_nan": False, "allow_infinity": False, "min_value": -100, "max_value": 100},
        ),
        min_size=1,
        max_size=3,
    )
)
def test_the_original_itself_is_always_within_every_limit(outputs):  # type: ignore[no-untyped-def]
    names = [f"out{i}" for i in range(len(outputs))]
    quality = judged(outputs, [o.copy() for o in outputs], names)
    assert quality.within and quality.gap <= 0 and len(quality.per_output) == len(outputs)


@pytest.mark.parametrize(
    ("inputs", "outputs", "expected"),
    [
        ({"input": [1, 64], "state": [2, 1, 128]}, {"output": [1, 1], "stateN": [2, 1, 128]}, {"state": "stateN"}),
        ({"x": ["b", 8], "h0": [1, "b", 16], "c0": [1, "b", 16]},
         {"y": ["b", 4], "hn": [1, "b", 16], "cn": [1, "b", 16]}, {"h0": "hn", "c0": "cn"}),
        ({"ids": ["b", "s"], "past_key_values.0.key": ["b", 4, "p", 8]},
         {"logits": ["b", "s", 10], "present.0.key": ["b", 4, "t", 8]}, {"past_key_values.0.key": "present.0.key"}),
        ({"x": ["b", 16]}, {"y": ["b", 16]}, {}),  # same shape, unrelated names: not state
        ({"state": [1, 32]}, {"stateN": [1, 16]}, {}),  # the name fits, the shape does not
    ],
)  # fmt: skip
def test_state_pairs_are_detected_by_name_dtype_and_shape(inputs, outputs, expected):  # type: ignore[no-untyped-def]
    def specs(shapes: dict) -> list[InputSpec]:  # type: ignore[type-arg]
        return [InputSpec(name, F32, shape) for name, shape in shapes.items()]

    assert detect_state_pairs(specs(inputs), specs(outputs)) == expected


def test_speedup_intervals_separate_a_real_gain_from_noise():
    noise = np.random.default_rng(1)
    base = 1.0 + noise.normal(0, 0.05, size=(30, 5))
    same = 1.0 + noise.normal(0, 0.05, size=(30, 5))
    half = 0.5 + noise.normal(0, 0.02, size=(30, 5))
    rounds = {"base": base, "same": same, "half": half}
    timings = evaluate.Timings(
        {n: evaluate.Latency(float(np.median(a)), 0.0, 1.0, a.size, a) for n, a in rounds.items()}
    )
    equal = timings.speedup("base", "same")
    assert equal.low < 1.0 < equal.high and not equal.measurably_faster and not equal.measurably_slower
    double = timings.speedup("base", "half")
    assert double.measurably_faster and 1.8 < double.value < 2.2 and double.low <= double.value <= double.high
    assert evaluate.UNCHANGED.value == evaluate.UNCHANGED.low == evaluate.UNCHANGED.high == 1.0
