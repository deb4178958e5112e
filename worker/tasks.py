"""Thin named tasks: claim the job, run the engine, record the outcome."""

from __future__ import annotations

from app.jobs.routing import RUN_JOB_TASK
from worker.celery_app import celery, hardware_class, job_memory_limit_bytes, settings
from worker.runner import run_job as _run_job


@celery.task(name=RUN_JOB_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: str) -> None:  # type: ignore[no-untyped-def]
    """Run one optimization job (in a child process held to the job memory limit); a message for a job that is
    not queued is a no-op."""
    _run_job(
        settings,
        job_id,
        worker=self.request.hostname or "worker",
        memory_limit_bytes=job_memory_limit_bytes(),
        hardware_class=hardware_class(),
    )
