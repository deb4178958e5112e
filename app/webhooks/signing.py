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
from urllib.parse import SplitResult, urlsplit

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


NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible addresses (RFC 4291)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, 6to4, NAT64, Teredo server and client."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client); the client is stored XOR 0xffffffff, undone by ipaddress
    if ip in NAT64_PREFIX or ip in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _forbidden(address: str) -> bool:
    """Whether ``address`` (or an IPv4 address it embeds) is loopback, private, link-local or reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not _is_public(ip):
        return True
    # A public-looking IPv6 address can route to an embedded IPv4 one (2002:7f00:1:: is 127.0.0.1 by 6to4).
    return isinstance(ip, ipaddress.IPv6Address) and not all(_is_public(v4) for v4 in embedded_ipv4(ip))


def _parse(url: str) -> SplitResult:
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
    return parts


def resolve_webhook_url(url: str, *, allow_private: bool) -> list[str]:
    """Resolve the URL's host once and check every address; the addresses a sender must connect to.

    Raises ``InvalidInput`` for a URL that is not http(s), does not resolve, or resolves to any
    loopback/private/link-local/reserved address (directly or embedded in IPv6) unless ``allow_private``.
    """
    parts = _parse(url)
    hostname = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(
            hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInput(
            f"webhook_url host {hostname!r} does not resolve",
            errors=[{"field": "webhook_url", "message": "host does not resolve"}],
        ) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    bad = sorted(address for address in addresses if _forbidden(address))
    if bad and not allow_private:
        raise InvalidInput(
            f"webhook_url resolves to a private or loopback address ({', '.join(bad)}); "
            "such targets are refused unless SLIMLINE_WEBHOOK_ALLOW_PRIVATE is set",
            errors=[{"field": "webhook_url", "message": "private or loopback address"}],
        )
    return addresses


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or that resolve to loopback/private/link-local addresses (SSRF).

    Called when a job is created; the sender resolves and checks again before every delivery
    (``resolve_webhook_url``) and connects to the address it checked, since DNS may change in between.
    """
    _parse(url)
    if not allow_private:
        resolve_webhook_url(url, allow_private=False)
