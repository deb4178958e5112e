"""Awkward model interfaces through the whole service, judged output by output: a rank-0 input through
`slimline serve` and the SDK, and a streaming detector (recurrent state) judged by rollout on a real worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.e2e.serve import serving
from tests.engine.stateful_models import scalar_input_data, scalar_input_mlp, streaming_dataset, streaming_detector
from tests.factories import npz_bytes
from tests.helpers import submit_job

pytestmark = pytest.mark.e2e


def _assert_speedup(report: dict) -> None:  # type: ignore[type-arg]
    interval = report["speedup_interval"]
    assert interval["confidence"] == 0.95 and interval["low"] <= interval["high"]
    if report["unchanged"]:
        assert report["speedup"] == 1.0 and interval["low"] == interval["high"] == 1.0


def test_a_rank_0_input_model_through_slimline_serve_and_the_sdk(tmp_path: Path) -> None:
    from slimline_client import Slimline

    model_path = scalar_input_mlp(tmp_path / "scalar.onnx")
    data_path = tmp_path / "scalar.npz"
    data_path.write_bytes(npz_bytes(**scalar_input_data(32)))  # x [32, 1, 8] per sample, gain [32]: one scalar each
    with serving(tmp_path / "home") as served, Slimline(served.url, served.key) as client:
        model = client.models.upload(model_path)
        assert {i.name: i.shape for i in model.data.inputs} == {"x": ["batch", 8], "gain": []}
        dataset = client.datasets.upload(data_path)
        job = client.jobs.create(model.id, dataset.id)  # the default recipe
        job.wait(timeout=240)
        assert job.status == "succeeded", (job.data.to_dict()["error"], "\n".join(served.server.lines[-40:]))
    report = job.report
    assert report is not None and report["schema_version"] == 2
    assert not any("model_run_failed" in w for w in report["warnings"])
    verdict = report["verdict"]
    assert verdict["judged_by"] == "samples" and verdict["state"] == {} and verdict["decided_by"] == "y"
    assert [o["name"] for o in verdict["outputs"]] == ["y"]
    (y,) = report["optimized"]["per_output"]
    assert y["name"] == "y" and y["kind"] == "small" and not y["ignored"]  # 4 values per sample
    assert {"normalized_rmse", "max_abs_error", "pearson"} <= set(y["metrics"]) and y["limits"]
    assert report["optimized"]["fidelity"]["cosine_mean"] is None  # meaningless for 4 values
    _assert_speedup(report)


def test_a_streaming_detector_is_judged_by_rollout_on_a_real_worker(http, auth, worker, tmp_path: Path) -> None:
    model_path = streaming_detector(tmp_path / "detector.onnx")
    arrays = streaming_dataset(sequences=4, steps=40)
    arrays.pop("truth")  # the synthetic truth is not a model input
    assert np.all(arrays["sequence_id"][:40] == 0)  # ordered sequences of 40 steps each
    done = submit_job(http, auth, model_path.read_bytes(), npz_bytes(**arrays))  # the default recipe
    assert done["status"] == "succeeded", done["error"]
    model = http.get(f"/v1/models/{done['model_id']}", headers=auth).json()
    assert {i["name"]: i["shape"] for i in model["inputs"]}["sr"] == []  # a rank-0 input
    assert http.get(f"/v1/datasets/{done['dataset_id']}", headers=auth).json()["num_samples"] == 160
    report = done["result"]["report"]
    verdict = report["verdict"]
    assert verdict["judged_by"] == "rollout" and verdict["state"] == {"state": "stateN"}
    assert verdict["sequences"] >= 1 and verdict["steps"] == report["split"]["evaluation_samples"]
    per_output = {o["name"]: o for o in report["optimized"]["per_output"]}
    assert set(per_output) == {"output", "stateN"}
    assert per_output["stateN"]["kind"] == "dense"  # a recurrent state is always judged as dense
    assert verdict["decided_by"] in per_output
    _assert_speedup(report)
