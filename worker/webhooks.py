"""Webhook dispatcher: a thread in every worker that sends due outbox deliveries, signed."""

from __future__ import annotations

import json
import logging
import threading

import httpx

from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.core.settings import Settings
from app.webhooks.outbox import DueDelivery, lease_due, record_attempt
from app.webhooks.signing import SIGNATURE_HEADER, resolve_webhook_url, sign

log = logging.getLogger("slimline.worker.webhooks")


def send(settings: Settings, delivery: DueDelivery) -> tuple[bool, str]:
    """POST one delivery; (ok, detail).

    The host is resolved once and every address checked (``resolve_webhook_url``); the request then goes to
    a checked address with the original Host header (and TLS server name), so a DNS answer that changes
    between the check and the connection cannot redirect it. Redirects are not followed (they could point
    anywhere); a 3xx counts as a failed attempt.
    """
    try:
        addresses = resolve_webhook_url(delivery.url, allow_private=settings.webhook_allow_private)
    except InvalidInput as exc:
        return False, exc.detail
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    url = httpx.URL(delivery.url)
    headers = {
        "Host": url.netloc.decode("ascii"),
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(delivery.secret, body),
        "Slimline-Event": delivery.event,
        "Slimline-Delivery": str(delivery.id),
        "User-Agent": "slimline-webhooks/1",
    }
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    detail = "no address to connect to"
    with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
        for address in addresses:
            pinned = url.copy_with(host=address.split("%", 1)[0])
            try:
                response = client.post(pinned, content=body, headers=headers, extensions=extensions)
            except httpx.ConnectError as exc:  # try the host's next address, as a browser would
                detail = f"{type(exc).__name__}: {exc}"[:500]
                continue
            except httpx.HTTPError as exc:
                return False, f"{type(exc).__name__}: {exc}"[:500]
            return 200 <= response.status_code < 300, f"HTTP {response.status_code}"
    return False, detail


def dispatch_once(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        due = lease_due(session, lease_s=settings.webhook_timeout_s + 30, keys=settings.master_keys)
    for delivery in due:
        ok, detail = send(settings, delivery)
        with session_scope(settings.database_url) as session:
            record_attempt(
                session,
                delivery,
                ok=ok,
                detail=detail,
                max_attempts=settings.webhook_max_attempts,
                backoff_s=settings.webhook_backoff_s,
            )
        log.info("webhook attempt", extra={"job_id": delivery.job_id, "ok": ok, "detail": detail})
    return len(due)


def dispatcher_loop(settings: Settings, stop: threading.Event, interval_s: float = 1.0) -> None:
    while not stop.wait(interval_s):
        try:
            dispatch_once(settings)
        except Exception:  # noqa: BLE001 - keep dispatching after a transient database error
            log.exception("webhook dispatch pass failed")
