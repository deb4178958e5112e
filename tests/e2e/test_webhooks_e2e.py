"""A job with webhook_url: signed POST when it ends, retried with backoff after a failed attempt."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.webhooks import signing
from app.webhooks.outbox import DueDelivery
from app.webhooks.signing import verify
from tests.helpers import events, submit_job
from worker.webhooks import send

pytestmark = pytest.mark.e2e


class Receiver:
    """A local webhook receiver whose first answer is a 500."""

    def __init__(self, fail_first: int = 1) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(receiver.received) <= receiver.fail_first else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/slimline"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_webhook_is_signed_and_retried(http, auth, worker, cnn_bytes, images_npz):
    receiver = Receiver(fail_first=1)
    try:
        secret = http.get("/v1/webhooks/secret", headers=auth).json()["secret"]
        recipe = {"webhook_url": receiver.url, "passes": [{"type": "quantize", "mode": "dynamic"}]}
        done = submit_job(http, auth, cnn_bytes, images_npz, recipe=recipe)
        assert done["webhook_url"] == receiver.url
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(receiver.received) == 2
        for headers, body in receiver.received:
            assert verify(secret, body, headers["Slimline-Signature"])
            payload = json.loads(body)
            assert payload["type"] == f"job.{done['status']}" and payload["job"]["id"] == done["id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            webhook_events = [e for e in events(http, auth, done["id"]) if "webhook" in e["data"]]
            if len(webhook_events) == 2:
                break
            time.sleep(0.2)
        assert [e["data"]["webhook"]["ok"] for e in webhook_events] == [False, True]
        assert "retrying in" in webhook_events[0]["message"]
    finally:
        receiver.close()


def test_rotating_the_secret_changes_it(http, auth):
    first = http.get("/v1/webhooks/secret", headers=auth).json()["secret"]
    assert http.get("/v1/webhooks/secret", headers=auth).json()["secret"] == first
    rotated = http.post("/v1/webhooks/secret/rotate", headers=auth).json()["secret"]
    assert rotated != first and rotated.startswith("whsec_")


def _delivery(url: str) -> DueDelivery:
    return DueDelivery(
        id=1, job_id="job_x", url=url, event="job.succeeded", attempt=1, secret="whsec_t", payload={"ok": True}
    )


def test_the_sender_connects_to_the_address_it_checked(settings, monkeypatch):
    """A name that no DNS knows, resolved once by the check to loopback: the POST goes there, Host kept."""
    receiver = Receiver(fail_first=0)
    port = receiver.server.server_address[1]
    resolved: list[str] = []

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        resolved.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(signing.socket, "getaddrinfo", getaddrinfo)
    url = f"http://hooks.slimline.test:{port}/hooks/slimline"
    try:
        assert send(settings, _delivery(url)) == (True, "HTTP 204")
        assert [host for host in resolved if host != "127.0.0.1"] == ["hooks.slimline.test"], "the name, once"
        [(headers, body)] = receiver.received
        assert headers["Host"] == f"hooks.slimline.test:{port}"
        assert verify("whsec_t", body, headers["Slimline-Signature"])

        refused = settings.model_copy(update={"webhook_allow_private": False})
        ok, detail = send(refused, _delivery(url))
        assert not ok and "private or loopback" in detail
        assert len(receiver.received) == 1, "a refused target is never contacted"
    finally:
        receiver.close()


def test_redirects_are_not_followed(settings):
    receiver = Receiver(fail_first=0)
    receiver.server.RequestHandlerClass.do_POST = _redirect  # type: ignore[attr-defined]
    try:
        assert send(settings, _delivery(receiver.url)) == (False, "HTTP 307")
    finally:
        receiver.close()


def _redirect(handler: BaseHTTPRequestHandler) -> None:
    handler.rfile.read(int(handler.headers["Content-Length"]))
    handler.send_response(307)
    handler.send_header("Location", "http://169.254.169.254/latest/meta-data")
    handler.send_header("Content-Length", "0")
    handler.end_headers()
