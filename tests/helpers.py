"""Small client-side helpers the tests share (the same calls a user makes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}


def upload(
    client: httpx.Client, auth: dict[str, str], kind: str, filename: str, content: bytes, name: str | None = None
) -> httpx.Response:
    data = {"name": name} if name else None
    return client.post(
        f"/v1/{kind}", headers=auth, files={"file": (filename, content, "application/octet-stream")}, data=data
    )


def upload_ok(client: httpx.Client, auth: dict[str, str], kind: str, filename: str, content: bytes) -> dict[str, Any]:
    response = upload(client, auth, kind, filename, content)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def model_bytes(builder: Any, tmp_path: Path, name: str = "model.onnx") -> bytes:
    path = tmp_path / name
    if not path.exists():
        builder(path)
    return path.read_bytes()


def wait_for_job(
    client: httpx.Client, auth: dict[str, str], job_id: str, *, timeout: float = 180, until: set[str] | None = None
) -> dict[str, Any]:
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


def events(client: httpx.Client, auth: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/jobs/{job_id}/events", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
