"""Every pass in the recipe's list is one unit in the engine: a package with ``run`` and its search space."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

import pytest

from app.core.schemas.recipe import (
    PASS_CONFIGS,
    FineTune,
    PassConfig,
    PrunePass,
    QuantizePass,
    Recipe,
    TransferPass,
    WeightOnlyPass,
)
from worker.engine import passes
from worker.engine.passes import prune
from worker.engine.passes.space import PassSpace


def test_the_recipe_union_and_the_registry_come_from_one_list():
    union = get_args(PassConfig)[0]
    assert get_args(union) == PASS_CONFIGS == (QuantizePass, PrunePass, TransferPass, WeightOnlyPass)
    assert passes.TYPES == ("quantize", "prune", "transfer", "weight_only")
    recipe = Recipe.model_validate({"passes": [{"type": pass_type} for pass_type in passes.TYPES]})
    assert [type(step) for step in recipe.passes] == list(PASS_CONFIGS)


@pytest.mark.parametrize("pass_type", passes.TYPES)
def test_each_pass_package_exposes_run_and_a_search_space(pass_type):
    unit = passes.unit(pass_type)
    assert unit.pass_type == pass_type and callable(unit.run)
    assert unit.space is None or issubclass(unit.space, PassSpace)


def test_a_type_outside_the_list_is_not_a_pass():
    with pytest.raises(KeyError):
        passes.unit("distill")


def test_loading_every_pass_imports_neither_torch_nor_onnxruntime():
    code = (
        "import json, sys\n"
        "from worker.engine import passes\n"
        "units = [passes.unit(t) for t in passes.TYPES]\n"
        "print(json.dumps([m for m in ('torch', 'onnxruntime') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_only_fine_tuning_asked_on_cuda_trains_on_the_gpu():
    assert not prune.trains_on_gpu(PrunePass())
    assert not prune.trains_on_gpu(PrunePass(finetune=FineTune(device="auto")))
    assert prune.trains_on_gpu(PrunePass(finetune=FineTune(device="cuda")))
