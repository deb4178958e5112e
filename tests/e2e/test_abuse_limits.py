"""Slow clients cannot starve others (issue 19), against real `slimline api` processes on loopback.

Tenant B opens 16 sockets that send upload headers, a few bytes of body, then nothing. No database
connection is held while a body streams, so tenant A's requests keep succeeding; each stalled
upload ends with 408 after SLIMLINE_BODY_READ_TIMEOUT_S, and those over B's concurrent-upload limit
get 429 at once. On the embedded database (a 15-connection SQLite pool) all 16 are admitted: if any
held a connection, A would wait for one. On Postgres no connection sits in an open transaction.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.helpers import cancel_all, new_api_key, own_broker, start_api, upload, upload_ok

pytestmark = pytest.mark.e2e
BOUNDARY = "stall-boundary"
STALLED = 16


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    admitted: int  # stalled uploads of one tenant let in (the rest get 429)

    def new_tenant(self) -> tuple[str, dict[str, str]]:
        """A new tenant's API key, and the headers that authenticate with it."""
        key = new_api_key(self.database_url)
        return key, {"Authorization": f"Bearer {key}"}


LIMITS = {
    "SLIMLINE_BODY_READ_TIMEOUT_S": "3",
    "SLIMLINE_TENANT_MAX_ACTIVE_JOBS": "50",
    "SLIMLINE_TENANT_JOBS_PER_MINUTE": "1000",
}


@pytest.fixture(scope="module")
def pg_server(service_env, redis_url, pg_url) -> Iterator[Server]:
    """`slimline api` on Postgres, its jobs sent to a Redis database no worker reads."""
    env = {**own_broker(service_env, redis_url, offset=4), **LIMITS, "SLIMLINE_TENANT_MAX_CONCURRENT_UPLOADS": "4"}
    process, url = start_api(env)
    try:
        yield Server(url, pg_url, admitted=4)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def embedded_server(service_env, tmp_path_factory) -> Iterator[Server]:
    """`slimline api` on the embedded defaults (SQLite database and broker in its data dir), no worker.

    All 16 stalled uploads are admitted: more than the 15 connections of the SQLite pool.
    """
    home = tmp_path_factory.mktemp("embedded-abuse")
    env = {k: v for k, v in service_env.items() if k not in ("SLIMLINE_DATABASE_URL", "SLIMLINE_BROKER_URL")}
    env.update(LIMITS, SLIMLINE_DATA_DIR=str(home), SLIMLINE_TENANT_MAX_CONCURRENT_UPLOADS=str(STALLED))
    process, url = start_api(env)
    try:
        yield Server(url, f"sqlite:///{home / 'slimline.db'}", admitted=STALLED)
    finally:
        process.stop()


@pytest.fixture(params=["postgres", "embedded"])
def server(request) -> Server:
    return request.getfixturevalue("pg_server" if request.param == "postgres" else "embedded_server")


def _stall_an_upload(url: str, key: str) -> socket.socket:
    """Send an upload's headers with a 64 MiB Content-Length and the first bytes of its file, then nothing."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        "POST /v1/models HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {64 * 1024**2}\r\n\r\n"
    )
    first = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
    sock.sendall(head.encode() + first.encode() + b"\x08\x07" * 32)
    return sock


def _outcome(sock: socket.socket) -> tuple[int, bool]:
    """The response's status code, and whether the server then closed the socket."""
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    status = int(received.split(b" ", 2)[1])
    closed = False
    while not closed:
        try:
            closed = not sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            closed = True
    return status, closed


def _open_transactions(pg_url: str) -> int:
    """Connections of this database sitting in an open transaction (what a held upload session looks like)."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_stalled_uploads_of_one_tenant_do_not_starve_another(server: Server, cnn_bytes):
    _, auth_a = server.new_tenant()
    key_b, auth_b = server.new_tenant()
    refused_count = STALLED - server.admitted
    stalled = [_stall_an_upload(server.url, key_b) for _ in range(STALLED)]
    try:
        with ThreadPoolExecutor(max_workers=STALLED) as pool, httpx.Client(base_url=server.url, timeout=30) as http:
            outcomes = [pool.submit(_outcome, sock) for sock in stalled]
            # The uploads over B's limit are refused before their bodies; so is B's next one.
            first_done = as_completed(outcomes)
            refused = [next(first_done).result()[0] for _ in range(refused_count)]
            if refused_count:
                assert refused == [429] * refused_count
                over = upload(http, auth_b, "models", "cnn.onnx", cnn_bytes)
                assert over.status_code == 429 and over.json()["code"] == "too_many_uploads"
                assert int(over.headers["retry-after"]) >= 1
            # While B's admitted uploads hang, A is served as usual: reads, an upload, readiness.
            assert http.get("/v1/models", headers=auth_a).status_code == 200
            model = upload_ok(http, auth_a, "models", "cnn.onnx", cnn_bytes)
            assert http.get(f"/v1/models/{model['id']}", headers=auth_a).status_code == 200
            assert http.get("/readyz").status_code == 200
            if server.database_url.startswith("postgresql"):
                assert _open_transactions(server.database_url) == 0
            # Each hung upload ends with 408 after the body-read timeout; every socket is closed.
            statuses = Counter(f.result() for f in outcomes)
            assert statuses == Counter({(408, True): server.admitted, (429, True): refused_count})
            # Their slots are free again: B uploads.
            assert upload(http, auth_b, "models", "cnn.onnx", cnn_bytes).status_code == 201
    finally:
        for sock in stalled:
            sock.close()


def test_200_concurrent_job_creations_admit_exactly_the_active_limit(server: Server, cnn_bytes, images_npz):
    _, auth = server.new_tenant()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        model = upload_ok(http, auth, "models", "cnn.onnx", cnn_bytes)
        dataset = upload_ok(http, auth, "datasets", "d.npz", images_npz)
        body = {"model_id": model["id"], "dataset_id": dataset["id"]}
        with ThreadPoolExecutor(max_workers=32) as pool:
            responses = list(pool.map(lambda _: http.post("/v1/jobs", headers=auth, json=body), range(200)))
        cancel_all(http, auth, [r.json()["id"] for r in responses if r.status_code == 202])
    assert Counter(r.status_code for r in responses) == {202: 50, 429: 150}
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
