"""The request body cap holds whatever the Content-Type says, before parsing and before authentication."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TWO_MIB = 2 * 1024**2
SPELLINGS = [
    "application/json",
    "Application/JSON",
    "application/json; charset=utf-8",
    "application/vnd.x+json",
    "text/plain",
    None,
]


def _headers(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"Content-Type": content_type}


@pytest.mark.parametrize("content_type", SPELLINGS)
def test_a_2_mib_body_without_a_key_is_413_whatever_its_content_type(client, content_type):
    response = client.post("/v1/jobs", headers=_headers(content_type), content=b" " * TWO_MIB)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("content_type", ["Application/JSON", "text/plain", None])
def test_a_chunked_2_mib_body_is_413_while_it_is_read(client, content_type):
    def chunks() -> Iterator[bytes]:
        for _ in range(TWO_MIB // 65536):
            yield b" " * 65536

    response = client.post("/v1/jobs", headers=_headers(content_type), content=chunks())
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("content_type", SPELLINGS)
def test_a_small_body_is_handled_normally(client, auth, content_type):
    assert client.post("/v1/jobs", headers=_headers(content_type), content=b"{}").status_code == 401
    response = client.post("/v1/jobs", headers={**auth, **_headers(content_type)}, content=b"{}")
    assert response.status_code not in (401, 413), response.text
    assert response.status_code < 500


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/webhooks", "/v1/jobs/job_x/cancel"])
def test_a_body_that_claims_to_be_multipart_is_capped_outside_the_upload_routes(client, path):
    # Only the upload routes stream multipart bodies under their own cap; anywhere else the claim changes nothing.
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    response = client.post(path, headers=headers, content=b" " * TWO_MIB)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
