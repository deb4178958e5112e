"""Hostile requests (issue 19): each gets a 4xx problem+json with a stable code, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import events

BOUNDARY = "slimline-test-boundary"


def _problem(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _multipart(*parts: bytes, closed: bool = True) -> bytes:
    body = b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + BOUNDARY.encode() + b"--\r\n" if closed else b"")


FILE_PART = b'Content-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n' + b"\x00" * 64
NAME_PART = b'Content-Disposition: form-data; name="name"\r\n\r\nhello'

MALFORMED_MULTIPART = [
    ("garbage-body", f"multipart/form-data; boundary={BOUNDARY}", b"this is not multipart at all"),
    ("wrong-boundary", "multipart/form-data; boundary=other", _multipart(FILE_PART)),
    ("empty-boundary", 'multipart/form-data; boundary=""', _multipart(FILE_PART)),
    ("garbage-boundary", "multipart/form-data; boundary=\x7f\x7f;;==", _multipart(FILE_PART)),
    ("truncated-in-file", f"multipart/form-data; boundary={BOUNDARY}", _multipart(FILE_PART, closed=False)[:-40]),
    ("no-closing-boundary", f"multipart/form-data; boundary={BOUNDARY}", _multipart(FILE_PART, closed=False)),
    ("missing-file-part", f"multipart/form-data; boundary={BOUNDARY}", _multipart(NAME_PART)),
    ("empty-body", f"multipart/form-data; boundary={BOUNDARY}", b""),
    ("headers-never-end", f"multipart/form-data; boundary={BOUNDARY}", b"--" + BOUNDARY.encode() + b"\r\nContent-Disp"),
]


@pytest.mark.parametrize("kind", ["models", "datasets"])
@pytest.mark.parametrize(("case", "content_type", "body"), MALFORMED_MULTIPART, ids=[c[0] for c in MALFORMED_MULTIPART])
def test_malformed_multipart_is_a_clear_4xx(client, auth, settings, kind, case, content_type, body):
    before = {p for p in settings.staging_dir.glob("*")} if settings.staging_dir.exists() else set()
    response = client.post(f"/v1/{kind}", headers={**auth, "Content-Type": content_type}, content=body)
    _problem(response, 422, "invalid_input")
    assert set(settings.staging_dir.glob("*")) == before


@pytest.fixture()
def job(client, auth, model_and_data):
    model, dataset = model_and_data
    response = client.post("/v1/jobs", headers=auth, json={"model_id": model["id"], "dataset_id": dataset["id"]})
    assert response.status_code == 202, response.text
    return response.json()


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "not-a-date",
        "",
    ],
)
def test_list_jobs_hostile_updated_since(client, auth, value):
    response = client.get("/v1/jobs", headers=auth, params={"updated_since": value})
    if response.status_code == 200:
        assert response.json()["items"] == [] or value.startswith("0001")
        return
    _problem(response, 422)


def _cursor(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "%%%",
        _cursor(["2026-01-01T00:00:00", "job_x"]),
        _cursor(["0001-01-01T00:00:00+01:00", "job_x"]),
        _cursor(["9999-12-31T23:59:59-01:00", "job_x"]),
        _cursor(["not a date", "job_x"]),
        _cursor({"a": 1}),
        _cursor([1, 2]),
        _cursor(["2026-01-01T00:00:00Z", None]),
        _cursor(["2026-01-01T00:00:00Z", "a" * 300]),
        _cursor(["2026-01-01T00:00:00Z", "\x00"]),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
def test_list_jobs_hostile_cursor(client, auth, cursor):
    response = client.get("/v1/jobs", headers=auth, params={"cursor": cursor})
    _problem(response, 422, "invalid_input")


@pytest.mark.parametrize("after", [2**63, 2**64, 10**30, -1])
def test_events_after_out_of_range(client, auth, job, after):
    response = client.get(f"/v1/jobs/{job['id']}/events", headers=auth, params={"after": after})
    _problem(response, 422)


# Header values go over the wire as latin-1: b"\xb2" is what the server reads as "²" (str.isdigit() says yes).
@pytest.mark.parametrize("last_event_id", [b"\xb2", b"9" * 5000, b"1e20", b"-1", str(2**63).encode(), b"0x10", b"1.0"])
def test_sse_hostile_last_event_id_is_422_before_the_stream(client, auth, job, last_event_id):
    headers = {**auth, "Accept": "text/event-stream", "Last-Event-ID": last_event_id}
    response = client.get(f"/v1/jobs/{job['id']}/events", headers=headers)
    _problem(response, 422, "invalid_input")


def test_sse_valid_last_event_id_resumes_after_it(client, auth, job):
    assert client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth).status_code == 200
    seqs = [e["seq"] for e in events(client, auth, job["id"])]
    headers = {**auth, "Accept": "text/event-stream", "Last-Event-ID": str(seqs[0])}
    with client.stream("GET", f"/v1/jobs/{job['id']}/events", headers=headers) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert f"id: {seqs[0]}\n" not in text and f"id: {seqs[-1]}\n" in text and "event: end" in text


@pytest.mark.parametrize(
    "recipe",
    [
        {"tune": {"seed": -1}},
        {"tune": {"seed": 2**70}},
        {"tune": {"seed": 2**32}},
        {"split": {"seed": -1}},
        {"split": {"seed": 2**70}},
        {"split": {"seed": 2**32}},
    ],
)
def test_seeds_out_of_range_are_422(client, auth, model_and_data, recipe):
    model, dataset = model_and_data
    body = {"model_id": model["id"], "dataset_id": dataset["id"], **recipe}
    response = client.post("/v1/jobs", headers=auth, json=body)
    problem = _problem(response, 422)
    assert any("seed" in e["field"] for e in problem["errors"])


@pytest.mark.parametrize("recipe", [{"tune": {"seed": 2**32 - 1}}, {"split": {"seed": 0}}])
def test_seeds_at_the_bounds_are_accepted(client, auth, model_and_data, recipe):
    model, dataset = model_and_data
    body = {"model_id": model["id"], "dataset_id": dataset["id"], **recipe}
    response = client.post("/v1/jobs", headers=auth, json=body)
    assert response.status_code == 202, response.text
