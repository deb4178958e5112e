"""Webhook signing and the SSRF rule for webhook URLs (pure functions, no database).

Signature scheme (documented in docs/webhooks.md): header
``Slimline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
Receivers recompute it over the raw body and reject timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

from app.core.errors import InvalidInput

SIGNATURE_HEADER = "Slimline-Signature"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Slimline-Signature`` header value for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify(
    secret: str, body: bytes, header: str, *, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None
) -> bool:
    """Check a ``Slimline-Signature`` header (constant-time compare, bounded clock skew)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or that resolve to loopback/private/link-local addresses (SSRF).

    Called when a job is created and again before every delivery (DNS may change in between).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "webhook_url must be an http(s) URL with a host",
            errors=[{"field": "webhook_url", "message": "not an http(s) URL"}],
        )
    if parts.username or parts.password:
        raise InvalidInput(
            "webhook_url must not carry credentials", errors=[{"field": "webhook_url", "message": "credentials in URL"}]
        )
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise InvalidInput(
            f"webhook_url host {parts.hostname!r} does not resolve",
            errors=[{"field": "webhook_url", "message": "host does not resolve"}],
        ) from exc
    bad = sorted({str(info[4][0]) for info in infos if _forbidden(str(info[4][0]))})
    if bad:
        raise InvalidInput(
            f"webhook_url resolves to a private or loopback address ({', '.join(bad)}); "
            "such targets are refused unless SLIMLINE_WEBHOOK_ALLOW_PRIVATE is set",
            errors=[{"field": "webhook_url", "message": "private or loopback address"}],
        )
