"""The webhook outbox: lease due deliveries, record each attempt (as a job event too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.models import Job, WebhookDelivery, utcnow
from app.jobs.schemas import JobRead
from app.jobs.service import job_view
from app.jobs.states import add_event
from app.webhooks.service import MasterKeys, ensure_secret


@dataclass(frozen=True)
class DueDelivery:
    id: int
    job_id: str
    url: str
    event: str
    attempt: int
    secret: str
    payload: dict[str, Any]


def lease_due(session: Session, *, lease_s: float, keys: MasterKeys, limit: int = 10) -> list[DueDelivery]:
    """Take up to ``limit`` due deliveries for ``lease_s`` seconds (other dispatchers skip them).

    ``keys`` (``Settings.master_keys``) open the tenants' sealed webhook secrets for signing.
    """
    now = utcnow()
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    due = []
    for row in rows:
        row.next_attempt_at = now + timedelta(seconds=lease_s)
        job = session.get(Job, row.job_id)
        assert job is not None
        payload = {
            "type": row.event,
            "delivery_id": row.id,
            "job": JobRead.model_validate(job_view(job)).model_dump(mode="json"),
        }
        secret = ensure_secret(session, job.tenant_id, keys)
        due.append(DueDelivery(row.id, row.job_id, row.url, row.event, row.attempts + 1, secret, payload))
    session.flush()
    return due


def record_attempt(
    session: Session, delivery: DueDelivery, *, ok: bool, detail: str, max_attempts: int, backoff_s: float
) -> None:
    """Record one attempt; schedule the next with exponential backoff, or give up."""
    now = utcnow()
    values: dict[str, Any] = {"attempts": delivery.attempt, "last_error": None if ok else detail}
    if ok:
        values.update(status="delivered", delivered_at=now)
        message = f"webhook delivered to {delivery.url} on attempt {delivery.attempt} ({detail})"
    elif delivery.attempt >= max_attempts:
        values.update(status="failed")
        message = f"webhook to {delivery.url} failed on attempt {delivery.attempt} ({detail}); giving up"
    else:
        delay = backoff_s * 2 ** (delivery.attempt - 1)
        values.update(next_attempt_at=now + timedelta(seconds=delay))
        message = f"webhook to {delivery.url} failed on attempt {delivery.attempt} ({detail}); retrying in {delay:g} s"
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))
    add_event(
        session,
        delivery.job_id,
        "log" if ok else "warning",
        message,
        {
            "webhook": {
                "delivery_id": delivery.id,
                "attempt": delivery.attempt,
                "ok": ok,
                "detail": detail,
                "status": values.get("status", "pending"),
            }
        },
    )
