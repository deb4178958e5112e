"""Webhook signatures and the SSRF rule."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from app.core.errors import InvalidInput
from app.webhooks import signing
from app.webhooks.signing import check_webhook_url, embedded_ipv4, resolve_webhook_url, sign, verify


def test_signature_round_trip_and_tampering():
    body = b'{"type":"job.succeeded"}'
    header = sign("whsec_test", body, timestamp=1_700_000_000)
    assert verify("whsec_test", body, header, now=1_700_000_010)
    assert not verify("whsec_other", body, header, now=1_700_000_010)
    assert not verify("whsec_test", body + b" ", header, now=1_700_000_010)
    assert not verify("whsec_test", body, header, now=1_700_000_000 + 3600), "replays of old deliveries fail"
    assert not verify("whsec_test", body, "garbage", now=1_700_000_010)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://0.0.0.0/x",
        "http://172.16.5.4/x",
    ],
)
def test_private_and_loopback_targets_are_refused(url):
    with pytest.raises(InvalidInput) as info:
        check_webhook_url(url, allow_private=False)
    assert "private or loopback" in info.value.detail


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "http://user:pw@example.com/x", "nonsense"]
)
def test_non_http_urls_are_refused(url):
    with pytest.raises(InvalidInput):
        check_webhook_url(url, allow_private=True)


def test_public_address_and_opt_in_private_are_allowed():
    check_webhook_url("https://93.184.215.14/hook", allow_private=False)
    check_webhook_url("http://127.0.0.1:9000/hook", allow_private=True)


# IPv6 addresses that carry a loopback, private or link-local IPv4 address: each form, each refused.
EMBEDDED_PRIVATE = {
    "6to4 of 127.0.0.1": ("2002:7f00:1::", ["127.0.0.1"]),
    "6to4 of the metadata address": ("2002:a9fe:a9fe::1", ["169.254.169.254"]),
    "NAT64 of 127.0.0.1": ("64:ff9b::7f00:1", ["127.0.0.1"]),
    "NAT64 of 10.0.0.1": ("64:ff9b::a00:1", ["10.0.0.1"]),
    "Teredo client 127.0.0.1": ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
    "Teredo server 192.168.1.1": ("2001:0:c0a8:101::f7f7:f7f7", ["192.168.1.1", "8.8.8.8"]),
    "IPv4-mapped 127.0.0.1": ("::ffff:127.0.0.1", ["127.0.0.1"]),
    "IPv4-mapped 10.1.2.3": ("::ffff:10.1.2.3", ["10.1.2.3"]),
    "IPv4-compatible 127.0.0.1": ("::127.0.0.1", ["127.0.0.1"]),
    "IPv4-compatible 169.254.169.254": ("::a9fe:a9fe", ["169.254.169.254"]),
}


@pytest.mark.parametrize(("address", "embedded"), EMBEDDED_PRIVATE.values(), ids=EMBEDDED_PRIVATE.keys())
def test_ipv6_addresses_embedding_a_private_ipv4_are_refused(address, embedded):
    assert [str(v4) for v4 in embedded_ipv4(ipaddress.IPv6Address(address))] == embedded
    with pytest.raises(InvalidInput) as info:
        check_webhook_url(f"http://[{address}]:8080/hook", allow_private=False)
    assert "private or loopback" in info.value.detail


def test_6to4_of_a_public_ipv4_is_allowed():
    assert embedded_ipv4(ipaddress.IPv6Address("2002:5db8:d70e::1")) == [ipaddress.IPv4Address("93.184.215.14")]
    check_webhook_url("http://[2002:5db8:d70e::1]/hook", allow_private=False)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(signing.socket, "getaddrinfo", getaddrinfo)


def test_a_host_is_refused_when_any_of_its_addresses_is_private(monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14", "2002:7f00:1::")
    with pytest.raises(InvalidInput) as info:
        resolve_webhook_url("https://hooks.example.com/x", allow_private=False)
    assert "2002:7f00:1::" in info.value.detail


def test_resolve_returns_the_checked_addresses_once_each(monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14", "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert resolve_webhook_url("https://hooks.example.com/x", allow_private=False) == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
