"""Hostile requests against the real API process: a 4xx problem+json each, and the connection stays usable.

The in-process client cannot show this: here every request goes over one keep-alive socket to uvicorn,
and the next request on that socket must still be answered.
"""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlencode, urlsplit

import pytest

from tests import hostile
from tests.helpers import upload_ok

pytestmark = pytest.mark.e2e
BOUNDARY = "slimline-keepalive"


def _multipart(filename: str, content: bytes) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'.encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def _cursor(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


@pytest.fixture()
def job_id(http, auth, cnn_bytes, images_npz) -> str:
    model = upload_ok(http, auth, "models", "cnn.onnx", cnn_bytes)
    dataset = upload_ok(http, auth, "datasets", "images.npz", images_npz)
    response = http.post("/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"]})
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    assert http.post(f"/v1/jobs/{job}/cancel", headers=auth).status_code == 200  # no work for the shared worker
    return job


def test_hostile_requests_are_4xx_on_one_kept_alive_connection(live_api, auth, job_id):
    multipart = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    huge = _multipart("d.npz", hostile.npz_huge_declared_shape())  # a 16 TiB array declared in a few bytes
    requests: list[tuple[str, str, dict[str, str], bytes, int, str | None]] = [
        ("POST", "/v1/datasets", multipart, huge, 413, "payload_too_large"),
        ("POST", "/v1/datasets", multipart, _multipart("d.npz", hostile.npz_with_non_array_member()), 422, None),
        ("POST", "/v1/datasets", multipart, b"this is not multipart at all", 422, "invalid_input"),
        ("POST", "/v1/models", multipart, _multipart("m.onnx", hostile.onnx_external_data_traversal()), 422, None),
        ("GET", "/v1/jobs?" + urlencode({"updated_since": "2026-01-01T00:00:00"}), {}, b"", 422, None),
        ("GET", "/v1/jobs?" + urlencode({"cursor": _cursor(["9999-12-31T23:59:59-01:00", "x"])}), {}, b"", 422, None),
        ("GET", f"/v1/jobs/{job_id}/events?after={2**63}", {}, b"", 422, None),
        ("GET", f"/v1/jobs/{job_id}/events", {"Accept": "text/event-stream", "Last-Event-ID": "9" * 5000}, b"", 422,
         "invalid_input"),
        ("GET", "/v1/jobs/job_%00", {}, b"", 404, "not_found"),
    ]  # fmt: skip
    url = urlsplit(live_api)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        for method, path, headers, body, status, code in requests:
            connection.request(method, path, body=body or None, headers={**auth, **headers})
            response = connection.getresponse()
            payload = response.read()
            where = f"{method} {path[:60]}"
            assert response.status == status, (where, payload[:300])
            assert response.getheader("content-type", "").startswith("application/problem+json"), where
            assert response.getheader("connection", "").lower() != "close", f"{where} closed the connection"
            problem = json.loads(payload)
            assert problem["detail"], where
            if code is not None:
                assert problem["code"] == code, (where, problem)
            assert not response.will_close, f"{where} ended the keep-alive"
        # the same socket still serves an ordinary request
        connection.request("GET", f"/v1/jobs/{job_id}", headers=auth)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["id"] == job_id
    finally:
        connection.close()
