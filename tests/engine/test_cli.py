"""`slimline optimize` and `slimline compare`: the engine offline, from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.factories import image_dataset, mlp_onnx, npz_bytes
from tests.helpers import REPO


def test_optimize_command_writes_artifacts_and_prints_the_summary(tmp_path):
    model = mlp_onnx(tmp_path / "mlp.onnx")
    data = tmp_path / "data.npz"
    data.write_bytes(npz_bytes(x=np.random.default_rng(0).standard_normal((32, 32)).astype(np.float32)))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"passes": [{"type": "quantize", "mode": "dynamic"}]}))
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "optimize",
            str(model),
            "--data",
            str(data),
            "--recipe",
            str(recipe),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode in (0, 3), result.stderr  # 3: finished, but the goal was not met on this machine
    assert "latency p50 (ms)" in result.stdout and "artifacts in" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert (result.returncode == 0) == report["goal_met"]
    assert (out / "model.onnx").exists() and (out / "report.html").exists()


def test_optimize_command_reports_a_bad_recipe(tmp_path):
    model = mlp_onnx(tmp_path / "mlp.onnx")
    data = tmp_path / "data.npz"
    data.write_bytes(image_dataset(4))
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"passes": [{"type": "quantize", "mode": "int3"}]}')
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "optimize", str(model), "--data", str(data), "--recipe", str(recipe)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 2 and "invalid recipe" in result.stderr


def test_compare_command_judges_any_model_against_its_original(tmp_path):
    from tests.engine import stateful_models as models

    original = models.two_heads(tmp_path / "two.onnx")
    broken = models.two_heads(tmp_path / "broken.onnx", break_second=True)
    data = tmp_path / "two.npz"
    data.write_bytes(npz_bytes(**models.two_heads_data()))

    def compare(candidate, *extra):  # type: ignore[no-untyped-def]
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "compare", str(original), str(candidate), "--data", str(data), *extra],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", "COLUMNS": "160", "HOME": str(tmp_path)},
            timeout=300,
        )

    same = compare(original)
    assert same.returncode == 0 and "within the quality limit" in same.stdout, same.stderr
    result = compare(broken)
    assert result.returncode == 3 and "OUTSIDE the quality limit" in result.stdout and "embedding" in result.stdout
    as_json = json.loads(compare(broken, "--json").stdout)
    assert as_json["verdict"]["decided_by"] == "embedding" and len(as_json["per_output"]) == 2
