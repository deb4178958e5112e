"""The Celery configuration both halves share, and the API's producer (enqueue by task name).

The API never imports ``worker``: it sends ``slimline.run_job`` with the job id as the only payload.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from app.core.schemas.recipe import FineTune, Recipe, TransferPass
from app.core.settings import Settings
from app.fleet.registry import class_queue

RUN_JOB_TASK = "slimline.run_job"
QUEUES = ("cpu", "gpu")  # the generic queues; each worker also consumes its hardware class's (app.fleet.registry)
FANOUT = "fanout"  # the queue column of a multi-target job: never sent, its child jobs are


def needs_gpu(recipe: Recipe) -> bool:
    """True when a step must run on a GPU: a cuda target, a pass's fine-tuning asked to run on cuda, or a
    transfer pass trained on cuda."""
    if recipe.target.device == "cuda":
        return True
    finetunes = [getattr(step, "finetune", None) for step in recipe.passes]
    if any(isinstance(finetune, FineTune) and finetune.device == "cuda" for finetune in finetunes):
        return True
    return any(isinstance(step, TransferPass) and step.device == "cuda" for step in recipe.passes)


def queue_for(recipe: Recipe) -> str:
    """The class's queue for a job with one target class (``hw.cpu-avx2``), ``fanout`` for several;
    else ``gpu`` for a cuda target or fine-tuning on cuda, ``cpu`` for everything else."""
    classes = recipe.target.hardware_classes()
    if len(classes) > 1:
        return FANOUT
    if classes:
        return class_queue(classes[0])
    return "gpu" if needs_gpu(recipe) else "cpu"


def celery_config(settings: Settings) -> dict[str, Any]:
    transport_options: dict[str, Any] = {}
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # An unacked task comes back after this; the reaper brings a dead worker's job back sooner.
        transport_options["visibility_timeout"] = settings.job_hard_time_limit_s + 600
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.job_soft_time_limit_s,
        "task_time_limit": settings.job_hard_time_limit_s,
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": "cpu",
        "task_routes": {RUN_JOB_TASK: {"queue": "cpu"}},
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_serializer": "json",
        "accept_content": ["json"],
    }


_producers: dict[tuple[str, int, int], Celery] = {}


def producer(settings: Settings) -> Celery:
    """One Celery producer per broker configuration, reused across requests."""
    key = (settings.broker_url, settings.job_soft_time_limit_s, settings.job_hard_time_limit_s)
    if key not in _producers:
        app = Celery("slimline-api")
        app.conf.update(celery_config(settings))
        _producers[key] = app
    return _producers[key]


def enqueue_job(settings: Settings, job_id: str, queue: str) -> None:
    """Hand the job to the broker. Raises on a broker error (the caller records it)."""
    producer(settings).send_task(
        RUN_JOB_TASK,
        args=[job_id],
        queue=queue,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )


def broker_reachable(settings: Settings, timeout_s: float = 2.0) -> bool:
    try:
        with producer(settings).connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout_s)
        return True
    except Exception:  # noqa: BLE001 - any transport error means "not reachable" for readiness
        return False
