"""A job with webhook_url: signed POST when it ends, retried with backoff after a failed attempt."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.webhooks.signing import verify
from tests.helpers import events, submit_job

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
