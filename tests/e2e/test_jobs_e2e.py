"""A job travels the whole path: HTTP upload -> Postgres -> Redis -> a real Celery worker -> engine -> download."""

from __future__ import annotations

import json
import threading

import httpx
import numpy as np
import onnx
import pytest

from tests.factories import npz_bytes
from tests.helpers import LOG_DIR, TERMINAL, events, new_api_key, submit_job, upload_ok, wait_for_job

pytestmark = pytest.mark.e2e
DYNAMIC = {"passes": [{"type": "quantize", "mode": "dynamic"}]}


def test_job_runs_to_success_and_artifacts_download(http, auth, worker, cnn_bytes, images_npz):
    job = submit_job(http, auth, cnn_bytes, images_npz, recipe=DYNAMIC, wait=False)

    # Poll like a dashboard: ETag/304 while nothing changes.
    etag, not_modified = None, 0
    for _ in range(600):
        response = http.get(f"/v1/jobs/{job['id']}", headers={**auth, **({"If-None-Match": etag} if etag else {})})
        if response.status_code == 304:
            not_modified += 1
        else:
            etag = response.headers["etag"]
            if response.json()["status"] in TERMINAL:
                break
        threading.Event().wait(0.05)
    done = wait_for_job(http, auth, job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1 and done["progress"] == 1.0
    assert done["started_at"] and done["finished_at"]
    report = done["result"]["report"]
    for side in ("baseline", "optimized"):
        assert report[side]["size_bytes"] > 0 and report[side]["latency_ms_p50"] > 0
    assert "speedup" in report and "goal_met" in report and "environment" in report

    artifacts = {a["name"]: a for a in http.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth).json()}
    assert done["result"]["model_artifact"] in artifacts and "report.json" in artifacts
    optimized = http.get(f"/v1/jobs/{job['id']}/artifacts/{done['result']['model_artifact']}", headers=auth)
    assert optimized.status_code == 200
    onnx.checker.check_model(onnx.load_from_string(optimized.content))
    downloaded_report = http.get(f"/v1/jobs/{job['id']}/artifacts/report.json", headers=auth).json()
    assert downloaded_report == report

    kinds = [e["type"] for e in events(http, auth, job["id"])]
    assert kinds[0] == "state" and kinds[-1] == "state" and "stage" in kinds
    seqs = [e["seq"] for e in events(http, auth, job["id"])]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_events_stream_as_sse(http, auth, worker, cnn_bytes, images_npz):
    job = submit_job(http, auth, cnn_bytes, images_npz, recipe=DYNAMIC, wait=False)
    received: list[dict] = []
    ended = None
    with http.stream(
        "GET",
        f"/v1/jobs/{job['id']}/events",
        headers={**auth, "Accept": "text/event-stream"},
        timeout=httpx.Timeout(300),
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event_name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event_name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                payload = json.loads(line.removeprefix("data: "))
                if event_name == "end":
                    ended = payload
                    break
                received.append(payload)
    assert ended == {"status": "succeeded"}
    assert [e["seq"] for e in received] == list(range(1, len(received) + 1))
    assert received[-1]["type"] == "state" and received[-1]["data"]["to"] == "succeeded"


def test_a_model_that_breaks_at_run_time_fails_the_job_and_the_worker_lives(http, auth, worker, cnn_bytes, images_npz):
    from onnx import TensorProto, helper

    # Valid for the checker and shape inference (symbolic batch), but 3*5 values cannot reshape to [-1, 7].
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], name="bad_reshape")],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 7])],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 7])],
    )
    bad = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    bad.ir_version = 8
    job = submit_job(http, auth, bad.SerializeToString(), npz_bytes(x=np.ones((6, 5), np.float32)))
    assert job["status"] == "failed"
    assert job["error"]["code"] and job["error"]["message"]
    assert "Traceback" not in job["error"]["message"]

    after = submit_job(http, auth, cnn_bytes, images_npz, recipe=DYNAMIC)
    assert after["status"] == "succeeded"


def test_twenty_concurrent_identical_requests_make_one_job(live_api, auth, cnn_bytes, images_npz):
    with httpx.Client(base_url=live_api, timeout=60) as http:
        model = upload_ok(http, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(http, auth, "datasets", "images.npz", images_npz)
    body = {"model_id": model["id"], "dataset_id": dataset["id"], "target": {"device": "cuda"}}
    results: list[httpx.Response] = []
    barrier = threading.Barrier(20)

    def post() -> None:
        with httpx.Client(base_url=live_api, timeout=60) as http:
            barrier.wait()
            results.append(http.post("/v1/jobs", headers={**auth, "Idempotency-Key": "same-key"}, json=body))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [202] * 20, [r.text for r in results if r.status_code != 202]
    assert len({r.json()["id"] for r in results}) == 1
    with httpx.Client(base_url=live_api, timeout=30) as http:
        listed = http.get("/v1/jobs", headers=auth).json()["items"]
        assert len(listed) == 1
        http.post(f"/v1/jobs/{listed[0]['id']}/cancel", headers=auth)


def test_api_keys_never_appear_in_logs(live_api, settings):
    key = new_api_key(settings.database_url)
    with httpx.Client(base_url=live_api, timeout=30) as http:
        assert http.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert http.get("/v1/models", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
    logs = "".join(path.read_text() for path in LOG_DIR.glob("*.log"))
    assert '"route": "/v1/models"' in logs  # requests are logged ...
    assert key not in logs  # ... but never their credentials
