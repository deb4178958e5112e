"""The stopping rule of `epochs: auto` (worker/engine/epochs.py), on made-up validation curves."""

from __future__ import annotations

from worker.engine.epochs import EpochPolicy


def _run(policy: EpochPolicy, gaps: list[float]) -> list[int]:
    kept = []
    for epoch in policy:
        gap = gaps[min(epoch, len(gaps)) - 1]
        if policy.record(train_loss=1.0 / epoch, gap=gap, within=gap <= 0):
            kept.append(epoch)
    return kept


def test_a_curve_that_holds_the_limit_with_margin_stops_once_it_flattens() -> None:
    policy = EpochPolicy(max_epochs=60, patience=3, margin=0.005)
    kept = _run(policy, [0.2, 0.1, 0.0, -0.006, -0.007, -0.007, -0.007, -0.007, -0.02])
    assert policy.stop == "limit_held"
    assert policy.best_epoch == 5 and kept[-1] == 5
    assert policy.epochs_run == 8
    assert "holds" in (policy.stop_reason or "")


def test_a_curve_that_stays_beyond_the_limit_stops_early_and_says_it_cannot_hold() -> None:
    policy = EpochPolicy(max_epochs=60, patience=3)
    _run(policy, [0.3, 0.2, 0.1, 0.1, 0.12, 0.1, 0.1, 0.1, 0.1])
    assert policy.stop == "cannot_hold"
    assert policy.best_epoch == 3 and policy.epochs_run == 9  # twice the patience: stalls short of it pass
    assert "does not hold" in (policy.stop_reason or "")


def test_a_curve_still_improving_runs_to_max_epochs() -> None:
    policy = EpochPolicy(max_epochs=5, patience=2)
    _run(policy, [0.5, 0.4, 0.3, 0.2, 0.1])
    assert policy.stop == "max_epochs" and policy.best_epoch == 5


def test_the_time_budget_stops_before_an_epoch_that_would_not_fit() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    policy = EpochPolicy(max_epochs=100, patience=50, time_budget_s=10.0, clock=clock)
    for epoch in policy:
        now[0] += 3.0  # each epoch takes 3 s
        policy.record(train_loss=1.0, gap=1.0 / epoch, within=False)
    assert policy.stop == "time_budget" and policy.epochs_run == 3
    assert now[0] <= 10.0


def test_fixed_epochs_run_exactly_and_keep_the_last() -> None:
    policy = EpochPolicy.fixed(4)
    kept = _run(policy, [0.1, 0.5, 0.5, 0.5])
    assert policy.epochs_run == 4 and kept == [1, 2, 3, 4]
    assert policy.stop == "fixed" and policy.as_dict()["best_epoch"] == 4


def test_without_a_limit_to_hold_it_stops_when_the_number_stops_falling() -> None:
    policy = EpochPolicy(max_epochs=60, patience=2)
    for epoch in policy:
        policy.record(train_loss=1.0, gap=max(0.5, 1.0 / epoch))
    assert policy.stop == "converged" and policy.best_epoch == 2 and policy.epochs_run == 4


def test_a_tie_on_the_gap_is_broken_by_the_validation_loss() -> None:
    policy = EpochPolicy(max_epochs=60, patience=2)
    for epoch in policy:
        policy.record(train_loss=1.0, gap=-0.01, within=True, tiebreak=max(0.2, 1.0 / epoch))
    assert policy.best_epoch == 5 and policy.epochs_run == 7 and policy.stop == "limit_held"
