"""The Celery app of the worker processes (queues ``cpu`` and ``gpu``, plus the queue of the worker's hardware
class); it registers the worker in the registry (``app.fleet.registry``) and beats there, and runs the
reaper (``app.jobs.reaper``) and the webhook dispatcher on background threads."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init, worker_ready, worker_shutdown

from app.core.db import get_engine, session_scope
from app.core.observability import configure_logging
from app.core.settings import get_settings
from app.fleet import registry
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
_hardware: dict[str, Any] = {}  # this machine as the registry records it (worker.engine.hardware.describe)
_node = {"name": "", "queues": []}  # the Celery node name (the registry's id) and the queues it consumes


def hardware_class() -> str:
    """The class this worker offers (jobs record where they ran; the engine's pre-flight reads it)."""
    return str(_hardware.get("hardware_class", ""))


@celeryd_after_setup.connect
def _record_concurrency(sender: str, instance: Any, **_: object) -> None:
    global _concurrency
    from worker.engine.hardware import describe

    _concurrency = max(1, int(getattr(instance, "concurrency", None) or 1))
    _hardware.update(describe())
    # Jobs for this class come on its own queue; the generic ones (-Q) still come too.
    instance.app.amqp.queues.select_add(registry.class_queue(hardware_class()))
    _node["name"], _node["queues"] = sender, sorted(instance.app.amqp.queues.consume_from)
    log.info(
        "hardware class %s (%s); consuming %s",
        hardware_class(),
        "SLIMLINE_WORKER_HARDWARE_CLASS" if hardware_class() != _hardware["detected_class"] else "detected",
        ", ".join(_node["queues"]),
    )
    log.info(
        "job memory limit: %d MB per job (%s, concurrency %d)",
        job_memory_limit_bytes() // MIB,
        "SLIMLINE_JOB_MEMORY_LIMIT_BYTES" if settings.job_memory_limit_bytes else "derived",
        _concurrency,
    )


def job_memory_limit_bytes() -> int:
    """The memory one job's process may use: the setting, or this worker's memory share per concurrency slot."""
    return job_limit_bytes(settings.job_memory_limit_bytes, _concurrency)


def _register() -> None:
    with session_scope(settings.database_url) as session:
        registry.register(
            session,
            str(_node["name"]),
            host=socket.gethostname(),
            hardware_class=hardware_class(),
            queues=list(_node["queues"]),
            concurrency=_concurrency,
            description={k: v for k, v in _hardware.items() if k != "hardware_class"},
        )


def _heartbeat_loop() -> None:
    while not _reaper_stop.wait(settings.worker_heartbeat_s):
        try:
            with session_scope(settings.database_url) as session:
                alive = registry.beat(session, str(_node["name"]))
            if not alive:  # the row was removed (operator cleanup): register again
                _register()
        except Exception:  # noqa: BLE001 - a missed beat is retried; the reaper tolerates a few
            log.warning("worker heartbeat failed", exc_info=True)


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
    _register()  # before Celery logs "ready.": a job submitted after that finds this worker live
    threading.Thread(target=_heartbeat_loop, name="slimline-worker-heartbeat", daemon=True).start()
    threading.Thread(target=_reaper_loop, name="slimline-reaper", daemon=True).start()
    threading.Thread(
        target=dispatcher_loop, args=(settings, _reaper_stop), name="slimline-webhooks", daemon=True
    ).start()


@worker_shutdown.connect
def _stop_reaper(**_: object) -> None:
    _reaper_stop.set()
    try:
        with session_scope(settings.database_url) as session:
            registry.stop(session, str(_node["name"]))
    except Exception:  # noqa: BLE001 - the registry marks it lost later instead
        log.warning("could not mark the worker stopped", exc_info=True)


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Pool connections inherited through fork must not be shared with the parent.
    get_engine(settings.database_url).dispose(close=False)
