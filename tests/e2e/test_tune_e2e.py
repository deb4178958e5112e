"""A tune job through the whole service: its trials are job events as they finish, its study lives in
Postgres, and a worker killed mid-study leaves a study that the next attempt continues."""

from __future__ import annotations

import time

import httpx
import numpy as np
import onnxruntime as ort
import psycopg
import pytest

from tests.e2e.serve import serving
from tests.engine.models import outlier_channel_mlp
from tests.factories import npz_bytes
from tests.helpers import events, own_broker, start_api, start_worker, submit_job, wait_for_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def tune_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    path = outlier_channel_mlp(tmp_path_factory.mktemp("tune-e2e") / "outlier.onnx")
    x = np.random.default_rng(0).standard_normal((160, 64)).astype(np.float32)
    labels = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0].argmax(-1)
    # the service refuses a class with a single sample (nothing to train and judge it on): drop those samples
    classes, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, classes[counts >= 2])
    return path.read_bytes(), npz_bytes(x=x[keep], labels=labels[keep].astype(np.int64))


def _study_trials(database_url: str, job_id: str) -> int:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT count(*) FROM optuna.trials t JOIN optuna.studies s ON s.study_id = t.study_id "
            "WHERE s.study_name = %s",
            (f"slimline-{job_id}",),
        ).fetchone()
    return int(row[0]) if row else 0


def test_tune_job_trials_are_events_and_its_study_is_in_postgres(http, auth, worker, tune_inputs, pg_url):
    done = submit_job(http, auth, *tune_inputs, recipe={"tune": {"max_accuracy_drop": 0.01, "trials": 4}}, timeout=300)
    job_id = done["id"]
    assert done["status"] == "succeeded", done["error"]
    history = events(http, auth, job_id)
    trials = [e for e in history if e["type"] == "trial"]
    assert [e["data"]["number"] for e in trials] == list(range(len(trials))) and len(trials) >= 4
    assert all("quantize.mode" in e["data"]["params"] for e in trials)
    assert all(e["data"]["metrics"] or e["data"]["error"] for e in trials)
    report = done["result"]["report"]
    assert report["tuning"]["trials_evaluated"] == 4 and report["tuning"]["storage"] == "database"
    assert [t["number"] for t in report["tuning"]["trials"]] == [e["data"]["number"] for e in trials]
    assert _study_trials(pg_url, job_id) == len(trials)
    names = {a["name"] for a in http.get(f"/v1/jobs/{job_id}/artifacts", headers=auth).json()}
    assert {"tradeoff.png", "report.html", "report.json", "model.onnx"} <= names


@pytest.fixture()
def isolated_env(service_env, redis_url):
    """Workers of this test use their own Redis database so the session worker does not take the job."""
    return own_broker(service_env, redis_url, offset=1)


def test_worker_killed_mid_study_and_the_next_attempt_continues_it(isolated_env, auth, tune_inputs, pg_url):
    api, url = start_api(isolated_env)
    first = start_worker(isolated_env, name="doomed-tuner")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            tune = {"max_accuracy_drop": 0.01, "trials": 10, "sampler": "random"}
            job_id = submit_job(http, auth, *tune_inputs, recipe={"tune": tune}, wait=False)["id"]
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                if len([e for e in events(http, auth, job_id) if e["type"] == "trial"]) >= 3:
                    break
                time.sleep(0.2)
            first.kill(9)  # the whole worker, with no chance to clean up
            before = [e["data"]["number"] for e in events(http, auth, job_id) if e["type"] == "trial"]
            assert len(before) >= 3
            second = start_worker(isolated_env, name="rescue-tuner")
            try:
                done = wait_for_job(http, auth, job_id, timeout=300)
            finally:
                second.stop()
            assert done["status"] == "succeeded", done["error"]
            assert done["attempts"] == 2
            tuning = done["result"]["report"]["tuning"]
            assert tuning["resumed_trials"] >= len(before)
            assert tuning["trials_evaluated"] == 10  # counted across both attempts, not reset
            history = events(http, auth, job_id)
            numbers = [e["data"]["number"] for e in history if e["type"] == "trial"]
            assert numbers[: len(before)] == before and min(numbers[len(before) :]) > max(before)
            runs = [i for i, e in enumerate(history) if e["type"] == "state" and e["data"].get("to") == "running"]
            second_attempt = history[runs[-1] :]
            assert len(runs) == 2 and any(e["type"] == "trial" for e in second_attempt)
            # nothing the first attempt measured was measured again: a repeat reuses the stored numbers
            first_measured = [e["data"]["params"] for e in history[: runs[-1]] if e["type"] == "trial"]
            again = [e["data"] for e in second_attempt if e["type"] == "trial" and e["data"]["state"] == "complete"]
            assert not [t for t in again if t["params"] in first_measured]
            assert any("resuming the tuning study" in e["message"] for e in history)
            assert _study_trials(pg_url, job_id) >= 10
    finally:
        first.kill(9)
        api.stop()


def test_embedded_serve_keeps_the_study_in_a_sqlite_file_beside_its_database(tmp_path, tune_inputs):
    home = tmp_path / "home"
    with serving(home) as served, httpx.Client(base_url=served.url, timeout=30) as http:
        recipe = {"tune": {"trials": 3, "objective": "size"}}
        done = submit_job(http, served.auth, *tune_inputs, recipe=recipe)
        assert done["status"] == "succeeded", (done, served.server.tail())
        assert len([e for e in events(http, served.auth, done["id"]) if e["type"] == "trial"]) >= 3
        assert done["result"]["report"]["tuning"]["storage"] == "database"
    assert (home / "slimline.db").exists() and (home / "slimline-optuna.db").exists()
