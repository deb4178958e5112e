"""Webhook signatures and the SSRF rule."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidInput
from app.webhooks.signing import check_webhook_url, sign, verify


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
