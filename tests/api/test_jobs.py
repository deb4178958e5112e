"""Creating, reading, listing and cancelling jobs (no worker: jobs stay queued here)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import npz_bytes
from tests.helpers import events, upload_ok


def _create(client, auth, model, dataset, headers=None, **recipe):
    body = {"model_id": model["id"], "dataset_id": dataset["id"], **recipe}
    return client.post("/v1/jobs", headers={**auth, **(headers or {})}, json=body)


def test_create_job_defaults(client, auth, model_and_data):
    model, dataset = model_and_data
    response = _create(client, auth, model, dataset)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["id"].startswith("job_") and job["status"] == "queued" and job["attempts"] == 0
    assert job["recipe"]["target"] == {"device": "cpu", "batch_size": 1, "hardware": None}
    assert job["recipe"]["passes"][0]["type"] == "quantize" and job["recipe"]["passes"][0]["mode"] == "auto"
    assert job["result"] is None and job["error"] is None
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert [e["type"] for e in events(client, auth, job["id"])] == ["state"]


def test_invalid_recipe_is_422_with_field_errors(client, auth, model_and_data):
    model, dataset = model_and_data
    response = _create(client, auth, model, dataset, passes=[{"type": "quantize", "mode": "int3"}])
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert any(e["field"].startswith("passes.0") for e in body["errors"])
    response = _create(client, auth, model, dataset, passes=[{"type": "teleport"}])
    assert response.status_code == 422
    response = _create(client, auth, model, dataset, target={"device": "tpu"})
    assert response.status_code == 422 and body["errors"]
    response = _create(client, auth, model, dataset, surprise=True)
    assert response.status_code == 422


def test_malformed_json_is_422_problem(client, auth):
    response = client.post("/v1/jobs", headers={**auth, "Content-Type": "application/json"}, content=b"{not json")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_mismatched_dataset_is_422_naming_the_mismatch(client, auth, cnn_bytes):
    model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
    wrong_name = upload_ok(client, auth, "datasets", "a.npz", npz_bytes(image=np.zeros((4, 1, 8, 8), np.float32)))
    response = _create(client, auth, model, wrong_name)
    assert response.status_code == 422
    assert response.json()["code"] == "dataset_incompatible"
    assert "'x'" in response.json()["detail"] or any("x" in e.get("field", "") for e in response.json()["errors"])
    wrong_dtype = upload_ok(client, auth, "datasets", "b.npz", npz_bytes(x=np.zeros((4, 1, 8, 8), np.float64)))
    response = _create(client, auth, model, wrong_dtype)
    assert response.status_code == 422 and "float64" in response.text
    wrong_shape = upload_ok(client, auth, "datasets", "c.npz", npz_bytes(x=np.zeros((4, 1, 9, 9), np.float32)))
    response = _create(client, auth, model, wrong_shape)
    assert response.status_code == 422 and response.json()["code"] == "dataset_incompatible"


def test_idempotency_key(client, auth, model_and_data):
    model, dataset = model_and_data
    first = _create(client, auth, model, dataset, headers={"Idempotency-Key": "abc-1"})
    again = _create(client, auth, model, dataset, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other_body = _create(client, auth, model, dataset, headers={"Idempotency-Key": "abc-1"}, target={"batch_size": 4})
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency_key_reused"
    assert (
        _create(client, auth, model, dataset, headers={"Idempotency-Key": "abc-2"}).json()["id"] != first.json()["id"]
    )


def test_etag_and_304(client, auth, model_and_data):
    model, dataset = model_and_data
    job = _create(client, auth, model, dataset).json()
    first = client.get(f"/v1/jobs/{job['id']}", headers=auth)
    etag = first.headers["etag"]
    unchanged = client.get(f"/v1/jobs/{job['id']}", headers={**auth, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    changed = client.get(f"/v1/jobs/{job['id']}", headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["status"] == "cancelled"


def test_cancel_queued_job_and_cancel_twice(client, auth, model_and_data):
    model, dataset = model_and_data
    job = _create(client, auth, model, dataset).json()
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"] is not None
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    types = [(e["type"], e["data"].get("to")) for e in events(client, auth, job["id"])]
    assert types == [("state", "queued"), ("state", "cancelled")]


def test_list_filters_and_events_after(client, auth, model_and_data):
    model, dataset = model_and_data
    a = _create(client, auth, model, dataset).json()
    b = _create(client, auth, model, dataset).json()
    client.post(f"/v1/jobs/{a['id']}/cancel", headers=auth)
    cancelled = client.get("/v1/jobs", headers=auth, params={"status": "cancelled"}).json()["items"]
    assert [j["id"] for j in cancelled] == [a["id"]]
    since = client.get(f"/v1/jobs/{a['id']}", headers=auth).json()["updated_at"]
    recent = client.get("/v1/jobs", headers=auth, params={"updated_since": since}).json()["items"]
    assert a["id"] in [j["id"] for j in recent]
    assert client.get("/v1/jobs", headers=auth, params={"status": "exploded"}).status_code == 422
    after = client.get(f"/v1/jobs/{a['id']}/events", headers=auth, params={"after": 1}).json()
    assert [e["seq"] for e in after] == [2]
    assert b["status"] == "queued"


def test_artifacts_of_a_queued_job_are_empty(client, auth, model_and_data):
    model, dataset = model_and_data
    job = _create(client, auth, model, dataset).json()
    assert client.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth).json() == []
    missing = client.get(f"/v1/jobs/{job['id']}/artifacts/report.json", headers=auth)
    assert missing.status_code == 404


def test_cuda_jobs_go_to_the_gpu_queue(client, auth, model_and_data, settings):
    from app.core.db import session_scope
    from app.core.models import Job

    model, dataset = model_and_data
    job = _create(client, auth, model, dataset, target={"device": "cuda"}).json()
    # a model for CPU deployment whose recovery training should run on a GPU worker
    on_gpu = {"type": "prune", "finetune": {"device": "cuda"}}
    trained_on_gpu = _create(client, auth, model, dataset, passes=[on_gpu]).json()
    trained_anywhere = _create(client, auth, model, dataset, passes=[{**on_gpu, "finetune": {}}]).json()
    transferred_on_gpu = _create(client, auth, model, dataset, passes=[{"type": "transfer", "device": "cuda"}])
    assert transferred_on_gpu.status_code == 202, transferred_on_gpu.text
    assert trained_on_gpu["recipe"]["target"]["device"] == "cpu"
    assert trained_anywhere["recipe"]["passes"][0]["finetune"]["device"] == "auto"
    with session_scope(settings.database_url) as session:
        assert session.get(Job, job["id"]).queue == "gpu"
        assert session.get(Job, trained_on_gpu["id"]).queue == "gpu"
        assert session.get(Job, trained_anywhere["id"]).queue == "cpu"
        assert session.get(Job, transferred_on_gpu.json()["id"]).queue == "gpu"


def test_webhook_to_a_private_address_is_refused(settings, auth, cnn_bytes, images_npz):
    from fastapi.testclient import TestClient

    from app.main import create_app

    strict = settings.model_copy(update={"webhook_allow_private": False})
    with TestClient(create_app(strict), raise_server_exceptions=False) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
        response = _create(client, auth, model, dataset, webhook_url="http://127.0.0.1:6379/")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "webhook_url"
    assert "private or loopback" in response.json()["detail"]


def test_fast_path_read_matches_the_validated_resource(client, auth, model_and_data):
    model, dataset = model_and_data
    created = _create(client, auth, model, dataset, webhook_url=None).json()
    read = client.get(f"/v1/jobs/{created['id']}", headers=auth).json()
    listed = next(j for j in client.get("/v1/jobs", headers=auth).json()["items"] if j["id"] == created["id"])
    assert read == listed == created


def _two_heads(client, auth, tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.engine.stateful_models import two_heads, two_heads_data

    path = two_heads(tmp_path_factory.mktemp("two-heads") / "two_heads.onnx")
    model = upload_ok(client, auth, "models", "two_heads.onnx", path.read_bytes())
    dataset = upload_ok(client, auth, "datasets", "x.npz", npz_bytes(**two_heads_data(8)))
    return model, dataset


def _refused(response, fields: list[str]) -> dict:  # type: ignore[type-arg]
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid_recipe"
    assert [e["field"] for e in body["errors"]] == fields
    return body  # type: ignore[no-any-return]


def test_quality_outputs_must_name_the_models_outputs(client, auth, tmp_path_factory):
    model, dataset = _two_heads(client, auth, tmp_path_factory)
    body = _refused(
        _create(client, auth, model, dataset, quality={"outputs": {"logits": {"kind": "classifier"}, "foo": {}}}),
        ["quality.outputs.foo"],
    )
    assert "'foo'" in body["detail"] and "outputs: logits, embedding" in body["detail"]
    fine = _create(client, auth, model, dataset, quality={"outputs": {"embedding": {"ignore": True}}})
    assert fine.status_code == 202, fine.text
    assert fine.json()["recipe"]["quality"]["outputs"]["embedding"]["ignore"] is True


def test_ignoring_every_output_is_refused(client, auth, tmp_path_factory):
    model, dataset = _two_heads(client, auth, tmp_path_factory)
    every = {"logits": {"ignore": True}, "embedding": {"ignore": True}}
    body = _refused(_create(client, auth, model, dataset, quality={"outputs": every}), ["quality.outputs"])
    assert "ignores every output (logits, embedding)" in body["detail"]


def test_evaluation_state_must_pair_a_model_input_with_a_fitting_output(client, auth, tmp_path_factory):
    from tests.engine.stateful_models import streaming_dataset

    # the detector's signature without training it: a GRU step with the same inputs and outputs
    path = _untrained_detector(tmp_path_factory.mktemp("detector") / "detector.onnx")
    model = upload_ok(client, auth, "models", "detector.onnx", path.read_bytes())
    arrays = {k: v[:12] for k, v in streaming_dataset(sequences=2, steps=6).items() if k != "truth"}
    dataset = upload_ok(client, auth, "datasets", "stream.npz", npz_bytes(**arrays))

    body = _refused(
        _create(client, auth, model, dataset, evaluation={"state": {"hidden": "stateN", "state": "hiddenN"}}),
        ["evaluation.state.hidden", "evaluation.state.state"],
    )
    assert "input 'hidden'" in body["detail"] and "inputs: input, state, sr" in body["detail"]
    assert "output 'hiddenN'" in body["detail"] and "outputs: output, stateN" in body["detail"]
    body = _refused(
        _create(client, auth, model, dataset, evaluation={"state": {"sr": "stateN"}}), ["evaluation.state.sr"]
    )
    assert "'stateN' (float32, rank 3) cannot be fed back as input 'sr' (int64, rank 0)" in body["detail"]
    body = _refused(
        _create(client, auth, model, dataset, evaluation={"state": {"state": "output"}}), ["evaluation.state.state"]
    )
    assert "rank 2" in body["detail"] and "rank 3" in body["detail"]
    for state in ({"state": "stateN"}, {}, None):
        response = _create(client, auth, model, dataset, evaluation={"state": state})
        assert response.status_code == 202, response.text


def test_sequence_id_is_accepted_and_a_malformed_one_is_refused_by_name(client, auth, tmp_path_factory):
    from tests.engine.stateful_models import streaming_dataset

    model = upload_ok(
        client,
        auth,
        "models",
        "detector.onnx",
        _untrained_detector(tmp_path_factory.mktemp("detector") / "d.onnx").read_bytes(),
    )
    arrays = {k: v[:12] for k, v in streaming_dataset(sequences=2, steps=6).items() if k != "truth"}
    good = upload_ok(client, auth, "datasets", "stream.npz", npz_bytes(**arrays))
    assert _create(client, auth, model, good).status_code == 202
    for bad in (arrays["sequence_id"].astype(np.float32), arrays["sequence_id"].reshape(12, 1)):
        dataset = upload_ok(client, auth, "datasets", "bad.npz", npz_bytes(**{**arrays, "sequence_id": bad}))
        response = _create(client, auth, model, dataset)
        assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == "dataset_incompatible"
        assert [e["field"] for e in body["errors"]] == ["arrays.sequence_id"]
        assert "'sequence_id'" in body["detail"] and "one integer per sample (shape [12]" in body["detail"]


def _untrained_detector(path):  # type: ignore[no-untyped-def]
    """``streaming_detector``'s interface (input [1, 64], state [1, 1, 32], sr int64 rank 0 -> output [1, 1],
    stateN [1, 1, 32]) on a tiny graph, so the API tests need no training."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((64, 1), 0.01, np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["input", "w"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["output"]),
        helper.make_node("Tanh", ["state"], ["stateN"]),
    ]
    graph = helper.make_graph(
        nodes,
        "detector_interface",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 1, 32]),
            helper.make_tensor_value_info("sr", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1]),
            helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [1, 1, 32]),
        ],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_an_id_no_row_can_have_is_404_not_a_database_error(client, auth, model_and_data):
    # Found by the fuzzer: a NUL byte in an id reached Postgres, which cannot hold one, as a 500.
    model, dataset = model_and_data
    response = _create(client, auth, {"id": "mdl_\x00x"}, dataset)
    assert response.status_code == 404 and response.json()["code"] == "not_found", response.text
    response = _create(client, auth, model, {"id": "ds\x00"})
    assert response.status_code == 404
    assert client.get("/v1/jobs/job_%00", headers=auth).status_code == 404


@pytest.mark.filterwarnings("ignore::DeprecationWarning:kombu.*")  # kombu's SQLAlchemy transport, used below
def test_a_broker_outage_leaves_the_job_queued_and_the_reaper_sends_it_later(
    settings, auth, cnn_bytes, images_npz, tmp_path
):
    """One dispatch (app.jobs.dispatch) for both: the route records the outage, the reaper's retry is quiet."""
    from fastapi.testclient import TestClient

    from app.core.db import session_scope
    from app.core.models import Job
    from app.jobs.reaper import reap_once
    from app.main import create_app

    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        model = upload_ok(client, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(client, auth, "datasets", "d.npz", images_npz)
        response = _create(client, auth, model, dataset)
        assert response.status_code == 202, response.text
        job = response.json()
        history = events(client, auth, job["id"])
    assert job["status"] == "queued"
    assert [e["type"] for e in history] == ["state", "warning"] and "broker is unreachable" in history[1]["message"]
    with session_scope(settings.database_url) as session:
        assert session.get(Job, job["id"]).enqueued_at is None

    # The broker is back: a SQLite one that no worker reads (the job stays queued); no grace period,
    # and no running job of other tests is taken back.
    back = settings.model_copy(
        update={
            "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
            "enqueue_grace_s": 0.0,
            "job_stale_after_s": 1e9,
        }
    )
    assert reap_once(back) >= 1
    with session_scope(settings.database_url) as session:
        row = session.get(Job, job["id"])
        assert row.enqueued_at is not None and row.status == "queued" and row.event_seq == len(history)
