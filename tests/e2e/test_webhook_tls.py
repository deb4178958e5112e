"""An https webhook goes to the checked address with the name kept in TLS: SNI and certificate check use the name."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.webhooks import signing
from app.webhooks.outbox import DueDelivery
from app.webhooks.signing import verify
from worker.webhooks import send

pytestmark = pytest.mark.e2e
HOST = "hooks.slimline.test"


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsReceiver:
    """An https receiver on 127.0.0.1 that records the TLS server name and the Host of every request."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.server_names: list[str | None] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)  # type: ignore[assignment,return-value]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def tls_receiver(tmp_path, monkeypatch):
    cert, key = _self_signed(tmp_path, HOST)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx trusts the test's certificate authority only
    receiver = TlsReceiver(cert, key)

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        # the check resolves the name; the connection then "resolves" the checked address itself
        assert host in (HOST, "127.0.0.1"), f"only the webhook's own name is resolved, not {host!r}"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(signing.socket, "getaddrinfo", getaddrinfo)
    yield receiver
    receiver.close()


def _delivery(url: str) -> DueDelivery:
    return DueDelivery(
        id=1, job_id="job_x", url=url, event="job.succeeded", attempt=1, secret="whsec_t", payload={"ok": True}
    )


def test_an_https_delivery_is_pinned_and_keeps_the_name_in_sni_and_host(settings, tls_receiver):
    url = f"https://{HOST}:{tls_receiver.port}/hooks"
    assert send(settings, _delivery(url)) == (True, "HTTP 204")
    assert tls_receiver.server_names == [HOST]
    [(headers, body)] = tls_receiver.received
    assert headers["Host"] == f"{HOST}:{tls_receiver.port}"
    assert verify("whsec_t", body, headers["Slimline-Signature"])


def test_a_certificate_for_another_name_is_refused(settings, tls_receiver, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    cert, _ = _self_signed(other, "elsewhere.slimline.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust only a certificate the receiver does not present
    ok, detail = send(settings, _delivery(f"https://{HOST}:{tls_receiver.port}/hooks"))
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in detail
    assert tls_receiver.received == []
