"""Hardware targeting at the API (no worker of the tested classes runs here): what a submit answers, what a job
that no live worker can take says, and who may see the fleet. Real workers: tests/e2e/test_hardware_targets.py."""

from __future__ import annotations

from tests.helpers import new_api_key, stopped_worker_class


def _create(client, auth, model, dataset, **recipe):
    return client.post("/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"], **recipe})


def test_a_class_no_worker_ever_offered_is_a_422_naming_the_classes_there_are(client, auth, model_and_data):
    model, dataset = model_and_data
    known = [row["hardware_class"] for row in client.get("/v1/hardware", headers=auth).json()["classes"]]
    response = _create(client, auth, model, dataset, target={"hardware": "cpu-nowhere-1"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "no_matching_hardware"
    assert "cpu-nowhere-1" in problem["detail"] and all(name in problem["detail"] for name in known)
    assert problem["errors"] == [{"field": "target.hardware", "message": "unknown class 'cpu-nowhere-1'"}]
    several = _create(client, auth, model, dataset, target={"hardware": ["cpu-nowhere-1", "cpu-nowhere-2"]})
    assert several.status_code == 422 and len(several.json()["errors"]) == 2


def test_target_hardware_is_validated_with_the_recipe(client, auth, model_and_data):
    model, dataset = model_and_data
    for hardware, needle in [
        ("cuda-sm90", "set `device: cuda`"),
        (["cpu-avx2", "cpu-avx2"], "appear once"),
        ([], "at least one"),
        ("CPU AVX2", "pattern"),
        ([f"cpu-{i}" for i in range(9)], "at most 8"),
    ]:
        response = _create(client, auth, model, dataset, target={"hardware": hardware})
        assert response.status_code == 422, (hardware, response.text)
        assert needle in response.text, (hardware, response.text)


def test_a_job_no_live_worker_can_take_waits_and_says_why(client, auth, model_and_data):
    model, dataset = model_and_data
    hardware = client.get("/v1/hardware", headers=auth).json()
    job = _create(client, auth, model, dataset, target={"device": "cuda"}).json()
    if hardware["generic_queues"]["gpu"] == 0:
        assert job["status"] == "queued" and job["status_reason"] == "waiting_for_hardware"
        first = client.get(f"/v1/jobs/{job['id']}/events", headers=auth).json()[0]
        assert "waiting for hardware: no live worker takes the gpu queue (no GPU worker)" in first["message"]
        assert first["data"]["status_reason"] == "waiting_for_hardware"
    else:  # a GPU worker is live in this session: the job is not waiting
        assert job["status_reason"] is None


def test_workers_are_for_operator_keys_only(client, auth, settings):
    assert client.get("/v1/workers", headers=auth).status_code == 403
    problem = client.get("/v1/workers", headers=auth).json()
    assert problem["code"] == "forbidden" and "--operator" in problem["detail"]
    operator = {"Authorization": f"Bearer {new_api_key(settings.database_url, role='operator')}"}
    response = client.get("/v1/workers", headers=operator)
    assert response.status_code == 200 and isinstance(response.json(), list)
    assert client.get("/v1/workers").status_code == 401


def test_a_job_for_a_known_class_waits_is_claimed_only_by_its_class_and_is_counted_per_class(
    client, auth, model_and_data, settings
):
    from fastapi.testclient import TestClient

    from app.core.db import session_scope
    from app.core.settings import Settings
    from app.jobs.lifecycle import claim
    from app.main import create_app

    model, dataset = model_and_data
    with stopped_worker_class(settings.database_url) as hardware_class:
        job = _create(client, auth, model, dataset, target={"hardware": hardware_class}).json()
        assert job["hardware_class"] == hardware_class and job["status_reason"] == "waiting_for_hardware"
        token = "metrics-token-for-the-tests-0123456789"
        scraped = settings.model_copy(update={"metrics_token": Settings(metrics_token=token).metrics_token})
        with TestClient(create_app(scraped)) as metrics_client:
            text = metrics_client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
        assert f'slimline_workers_live{{hardware_class="{hardware_class}"}} 0.0' in text
        assert f'slimline_hardware_queue_depth{{hardware_class="{hardware_class}"}} 1.0' in text
        assert f'slimline_queue_depth{{queue="hw.{hardware_class}"}} 1.0' in text
        with session_scope(settings.database_url) as session:  # a message on the wrong queue is not run
            assert claim(session, job["id"], "another-class-worker", "cpu-some-other-class") is None
        assert client.get(f"/v1/jobs/{job['id']}", headers=auth).json()["status"] == "queued"
        with session_scope(settings.database_url) as session:
            claimed = claim(session, job["id"], "its-class-worker", hardware_class)
        assert claimed is not None and claimed.attempt == 1
        running = client.get(f"/v1/jobs/{job['id']}", headers=auth).json()
        assert running["status"] == "running" and running["status_reason"] is None
        client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth)
