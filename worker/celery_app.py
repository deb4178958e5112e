"""The Celery app of the worker processes (queues ``cpu`` and ``gpu``), plus the reaper thread."""

from __future__ import annotations

import logging
import threading
import uuid

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from app.core.db import get_engine, session_scope
from app.core.observability import configure_logging
from app.core.settings import get_settings
from app.jobs.lifecycle import forget_broker_messages, mark_enqueued, reap
from app.jobs.routing import celery_config, enqueue_job

log = logging.getLogger("slimline.worker")
settings = get_settings()
configure_logging(settings.log_level, settings.log_json)

celery = Celery("slimline", include=["worker.tasks"])
celery.conf.update(celery_config(settings))

_reaper_stop = threading.Event()


BROKER_EPOCH_KEY = "slimline:broker-epoch"


def reconcile_broker() -> int:
    """Detect a Redis broker that lost its data and mark queued jobs for re-sending.

    We keep a marker key in Redis; when it is missing, Redis restarted empty (or was flushed), so
    the messages of queued jobs are gone too.
    """
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return 0  # the SQLite broker keeps its messages on disk; AMQP queues are durable
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=3, socket_connect_timeout=3)
    if client.set(BROKER_EPOCH_KEY, str(uuid.uuid4()), nx=True) is None:
        return 0  # the marker survived: nothing was lost
    with session_scope(settings.database_url) as session:
        count = forget_broker_messages(session)
    if count:
        log.warning("broker lost its messages; re-sending queued jobs", extra={"jobs": count})
    return count


def reap_once() -> int:
    """One reaper pass: requeue or fail silent jobs, send queued jobs the broker never got."""
    try:
        reconcile_broker()
    except Exception as exc:  # noqa: BLE001 - broker down: reaping stale jobs must go on
        log.warning("broker reconciliation skipped", extra={"error": str(exc)})
    with session_scope(settings.database_url) as session:
        to_send = reap(
            session,
            stale_after_s=settings.job_stale_after_s,
            max_attempts=settings.job_max_attempts,
            enqueue_grace_s=settings.enqueue_grace_s,
        )
    for job_id, queue in to_send:
        try:
            enqueue_job(settings, job_id, queue)
        except Exception as exc:  # noqa: BLE001 - broker down: the next pass retries
            log.warning("reaper could not enqueue", extra={"job_id": job_id, "error": str(exc)})
            continue
        with session_scope(settings.database_url) as session:
            mark_enqueued(session, job_id)
        log.info("reaper enqueued job", extra={"job_id": job_id, "queue": queue})
    return len(to_send)


def _reaper_loop() -> None:
    while not _reaper_stop.wait(settings.reaper_interval_s):
        try:
            reap_once()
        except Exception:  # noqa: BLE001 - keep reaping after a transient database error
            log.exception("reaper pass failed")


@worker_ready.connect
def _start_background_threads(**_: object) -> None:
    from worker.webhooks import dispatcher_loop

    threading.Thread(target=_reaper_loop, name="slimline-reaper", daemon=True).start()
    threading.Thread(
        target=dispatcher_loop, args=(settings, _reaper_stop), name="slimline-webhooks", daemon=True
    ).start()


@worker_shutdown.connect
def _stop_reaper(**_: object) -> None:
    _reaper_stop.set()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Pool connections inherited through fork must not be shared with the parent.
    get_engine(settings.database_url).dispose(close=False)
