"""Labels that cannot be used fail `slimline optimize --data` with a clear error naming the labels, before any
training; strong class imbalance is a warning in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.engine.conftest import write_npz
from tests.engine.pruning import prune, run
from tests.factories import mlp_onnx
from tests.helpers import REPO

PRUNE_AND_TRAIN = {"passes": [{"type": "prune", "sparsity": 0.5, "finetune": {"epochs": 1}}]}


def _optimize(tmp_path: Path, labels: np.ndarray, samples: int = 60) -> subprocess.CompletedProcess[str]:
    model = mlp_onnx(tmp_path / "mlp.onnx")  # 5 classes
    x = np.random.default_rng(0).standard_normal((samples, 32)).astype(np.float32)
    data = write_npz(tmp_path / "data.npz", x=x, labels=labels)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(PRUNE_AND_TRAIN))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "optimize", str(model), "--data", str(data), "--recipe", str(recipe)]
        + ["--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
        timeout=300,
    )


@pytest.mark.parametrize(
    ("labels", "says"),
    [
        (np.arange(59) % 5, "array 'labels' has 59 entries but the inputs have 60 samples"),
        (np.arange(60) % 7, "holds class id 6"),
        (np.r_[np.arange(59) % 4, 4], "1 class(es) with fewer than 2 samples (class 4: 1 sample)"),
        (np.r_[np.arange(59) % 5, -1], "negative class ids"),
    ],
    ids=["count", "out-of-range", "single-sample-class", "negative"],
)
def test_labels_that_cannot_be_used_fail_the_cli_naming_them(tmp_path, labels, says):
    result = _optimize(tmp_path, labels.astype(np.int64))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert "error (invalid_labels)" in output and says in output, output
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_float_labels_of_a_regression_are_not_counted_as_classes(tmp_path):
    from worker.engine.data import check_training_labels

    assert check_training_labels(np.linspace(0, 1, 10), classes=5) == []


def test_strong_class_imbalance_is_a_warning_in_the_report(tmp_path):
    model = mlp_onnx(tmp_path / "mlp.onnx")
    x = np.random.default_rng(0).standard_normal((120, 32)).astype(np.float32)
    labels = np.r_[np.zeros(100), np.ones(10), np.full(10, 2)].astype(np.int64)
    data = write_npz(tmp_path / "data.npz", x=x, labels=labels)
    result = run(model, data, tmp_path / "out", passes=[prune(sparsity=0.5, finetune={"epochs": 1})])
    assert any("strongly imbalanced: class 0 has 100 samples" in w for w in result.report["warnings"])
