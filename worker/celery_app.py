"""The Celery app of the worker processes (queues ``cpu`` and ``gpu``); it schedules the reaper
(``app.jobs.reaper``) and the webhook dispatcher on background threads."""

from __future__ import annotations

import logging
import threading

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from app.core.db import get_engine
from app.core.observability import configure_logging
from app.core.settings import get_settings
from app.jobs.reaper import reap_once
from app.jobs.routing import celery_config

log = logging.getLogger("slimline.worker")
settings = get_settings()
configure_logging(settings.log_level, settings.log_json)

celery = Celery("slimline", include=["worker.tasks"])
celery.conf.update(celery_config(settings))

_reaper_stop = threading.Event()


def _reaper_loop() -> None:
    while not _reaper_stop.wait(settings.reaper_interval_s):
        try:
            reap_once(settings)
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
