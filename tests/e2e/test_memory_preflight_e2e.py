"""Through the service: a job whose estimated peak exceeds the worker's per-job limit is refused before its model
is loaded (``model_too_large_for_worker``, both numbers named); one that fits records its measured peak RSS in
the stored report and in report.json (docs/architecture.md §4, Large models)."""

from __future__ import annotations

import io
import re

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.e2e.serve import serving
from tests.factories import npz_bytes
from tests.helpers import submit_job

pytestmark = pytest.mark.e2e
MIB = 1024**2
LIMIT_BYTES = 1536 * MIB
WIDTH = 4096  # one 4096 × 4096 float32 weight: 64 MiB


def wide_matmul() -> bytes:
    weight = np.random.default_rng(0).standard_normal((WIDTH, WIDTH)).astype(np.float32) * 0.01
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="wide")],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", WIDTH])],
        [numpy_helper.from_array(weight, "w")],
    )
    buffer = io.BytesIO()
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), buffer)
    return buffer.getvalue()


def test_a_job_over_the_worker_limit_is_refused_and_one_within_records_its_peak(tmp_path):
    model = wide_matmul()
    data = npz_bytes(x=np.random.default_rng(1).standard_normal((8, WIDTH)).astype(np.float32))
    extra_env = {"SLIMLINE_JOB_MEMORY_LIMIT_BYTES": str(LIMIT_BYTES), "SLIMLINE_ENGINE_LATENCY_BUDGET_S": "0.1"}
    with serving(tmp_path / "home", extra_env) as served, httpx.Client(base_url=served.url, timeout=60) as http:
        # auto holds a dozen candidates at once: ~23 copies of 64 MiB and the runtime exceed 1536 MB
        refused = submit_job(
            http, served.auth, model, data, recipe={"passes": [{"type": "weight_only", "mode": "auto"}]}, timeout=120
        )
        assert refused["status"] == "failed", (refused, served.server.tail())
        assert refused["error"]["code"] == "model_too_large_for_worker", refused["error"]
        message = refused["error"]["message"]
        assert f"allows {LIMIT_BYTES // MIB} MB" in message, message
        estimate = re.search(r"needs an estimated (\d+) MB", message)
        assert estimate is not None and int(estimate.group(1)) > LIMIT_BYTES // MIB, message

        done = submit_job(http, served.auth, model, data, recipe={"passes": [{"type": "weight_only"}]}, timeout=180)
        assert done["status"] == "succeeded", (done, served.server.tail())
        stored = done["result"]["report"]["memory"]
        assert stored["limit_bytes"] == LIMIT_BYTES
        assert 0 < stored["peak_rss_bytes"] <= LIMIT_BYTES
        assert stored["estimate_bytes"] <= LIMIT_BYTES
        artifact = http.get(f"/v1/jobs/{done['id']}/artifacts/report.json", headers=served.auth)
        assert artifact.status_code == 200, artifact.text
        assert artifact.json()["memory"]["peak_rss_bytes"] == stored["peak_rss_bytes"]
