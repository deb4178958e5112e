"""Accuracy-aware tuning (the recipe's ``tune`` block). Optuna is imported only when a study runs."""

from worker.engine.tune.study import run

__all__ = ["run"]
