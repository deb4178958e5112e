"""Helpers of the prune tests: run a recipe, name a prune pass, read a model's interface."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from app.core.schemas.recipe import Recipe
from tests.helpers import TEST_LATENCY_BUDGET_S
from worker.engine import optimize

BUDGET_S = float(TEST_LATENCY_BUDGET_S)  # timing per comparison: the tests check decisions, not speed

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU that PyTorch sees (run on a GPU machine)")


def run(model: Path, data: Path, out: Path, **recipe):  # type: ignore[no-untyped-def]
    return optimize(model, data, Recipe.model_validate(recipe), out, threads=1, latency_budget_s=BUDGET_S)


def prune(**options):  # type: ignore[no-untyped-def]
    return {"type": "prune", **options}


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def interface(path: Path) -> tuple[list[tuple[str, list]], list[str]]:
    s = session(path)
    return [(i.name, i.shape) for i in s.get_inputs()], [o.name for o in s.get_outputs()]


def layer(summary: dict, node: str) -> dict:
    return next(row for row in summary["layers"] if row["node"] == node)
