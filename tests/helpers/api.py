"""The calls a user makes over HTTP: upload, submit a job, wait for it, read its events."""

from __future__ import annotations

import time
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}


def upload(
    client: httpx.Client, auth: dict[str, str], kind: str, filename: str, content: bytes, name: str | None = None
) -> httpx.Response:
    """POST a file to ``/v1/{kind}`` (``models`` or ``datasets``) and return the response as it is."""
    data = {"name": name} if name else None
    return client.post(
        f"/v1/{kind}", headers=auth, files={"file": (filename, content, "application/octet-stream")}, data=data
    )


def upload_ok(client: httpx.Client, auth: dict[str, str], kind: str, filename: str, content: bytes) -> dict[str, Any]:
    """Upload and expect 201; returns the model or dataset resource."""
    response = upload(client, auth, kind, filename, content)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_for_job(
    client: httpx.Client, auth: dict[str, str], job_id: str, *, timeout: float = 180, until: set[str] | None = None
) -> dict[str, Any]:
    """Poll the job until its status is in ``until`` (default: a terminal one); ``timeout`` in seconds."""
    until = until or TERMINAL
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}", headers=auth)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in until:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout}s: {job}")


def submit_job(
    client: httpx.Client,
    auth: dict[str, str],
    model: bytes,
    data: bytes,
    *,
    recipe: dict[str, Any] | None = None,
    model_name: str = "model.onnx",
    data_name: str = "data.npz",
    wait: bool = True,
    timeout: float = 240,
) -> dict[str, Any]:
    """The user's story in one call: upload the model and the dataset, create a job, wait for it.

    ``recipe`` holds the job body's other fields (``passes``, ``tune``, ``webhook_url``…); none means the
    default recipe. Returns the finished job when ``wait`` (after at most ``timeout`` seconds), else the
    job as the 202 answer gave it.
    """
    model_id = upload_ok(client, auth, "models", model_name, model)["id"]
    dataset_id = upload_ok(client, auth, "datasets", data_name, data)["id"]
    response = client.post(
        "/v1/jobs", headers=auth, json={"model_id": model_id, "dataset_id": dataset_id, **(recipe or {})}
    )
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return wait_for_job(client, auth, job["id"], timeout=timeout) if wait else job


def events(client: httpx.Client, auth: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    """The job's events as a list, in order."""
    response = client.get(f"/v1/jobs/{job_id}/events", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def cancel_all(client: httpx.Client, auth: dict[str, str], job_ids: list[str]) -> None:
    """Cancel jobs a test left queued. Queued jobs live on in the shared test database: a worker started
    later with a fresh broker re-sends every queued job it finds there (app.jobs.reaper.reconcile_broker)
    and would spend minutes running another test's leftovers."""
    for job_id in job_ids:
        response = client.post(f"/v1/jobs/{job_id}/cancel", headers=auth)
        assert response.status_code in (200, 409), response.text  # 409: it had ended already
