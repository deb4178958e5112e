"""The Celery app of the worker processes (queues ``cpu`` and ``gpu``); it schedules the reaper
(``app.jobs.reaper``) and the webhook dispatcher on background threads."""

from __future__ import annotations

import logging
import os
import signal
import threading

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init, worker_ready, worker_shutdown

from app.core.db import get_engine
from app.core.observability import configure_logging
from app.core.settings import get_settings
from app.jobs.reaper import reap_once
from app.jobs.routing import celery_config
from worker.job_memory import MIB, job_limit_bytes

log = logging.getLogger("slimline.worker")
settings = get_settings()
configure_logging(settings.log_level, settings.log_json)

celery = Celery("slimline", include=["worker.tasks"])
celery.conf.update(celery_config(settings))

_reaper_stop = threading.Event()
_concurrency = 1  # the worker's, set before the pool processes fork (they inherit it)


@celeryd_after_setup.connect
def _record_concurrency(instance: object, **_: object) -> None:
    global _concurrency
    _concurrency = max(1, int(getattr(instance, "concurrency", None) or 1))
    log.info(
        "job memory limit: %d MB per job (%s, concurrency %d)",
        job_memory_limit_bytes() // MIB,
        "SLIMLINE_JOB_MEMORY_LIMIT_BYTES" if settings.job_memory_limit_bytes else "derived",
        _concurrency,
    )


def job_memory_limit_bytes() -> int:
    """The memory one job's process may use: the setting, or this worker's memory share per concurrency slot."""
    return job_limit_bytes(settings.job_memory_limit_bytes, _concurrency)


def _reaper_loop() -> None:
    while not _reaper_stop.wait(settings.reaper_interval_s):
        try:
            reap_once(settings)
        except Exception:  # noqa: BLE001 - keep reaping after a transient database error
            log.exception("reaper pass failed")


def _exit_with_parent(parent_pid: int) -> None:
    # `slimline serve` may die without stopping us (SIGKILL, OOM): a worker left behind would keep taking jobs.
    while not _reaper_stop.wait(1.0):
        if os.getppid() != parent_pid:
            log.warning("the serving process %d is gone; stopping the worker", parent_pid)
            os.kill(os.getpid(), signal.SIGTERM)
            return


@worker_ready.connect
def _start_background_threads(**_: object) -> None:
    from worker.webhooks import dispatcher_loop

    parent = os.environ.get("SLIMLINE_EXIT_WITH_PARENT", "")
    if parent.isdigit():  # set by `slimline serve` (app/cli.py) to its pid
        threading.Thread(
            target=_exit_with_parent, args=(int(parent),), name="slimline-parent-watch", daemon=True
        ).start()
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
