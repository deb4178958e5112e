"""One job, start to end, inside a worker process: claim, fetch blobs, run the engine, store results."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded

from app.core.db import get_engine, session_scope
from app.core.observability import job_id_var
from app.core.safety import model_archive
from app.core.schemas.recipe import Recipe
from app.core.settings import Settings
from app.core.storage import BlobStore, artifact_key, make_store
from app.jobs.lifecycle import ClaimedJob, claim, fail, heartbeat, record_progress, still_ours, succeed
from app.jobs.routing import needs_gpu
from worker.job_memory import MIB
from worker.study_storage import study_name, study_storage_url

if TYPE_CHECKING:  # the engine is imported when the first job runs, not when the worker starts
    from worker.engine import OptimizeResult, ProgressFn

log = logging.getLogger("slimline.worker.runner")
EngineCall = Callable[["ProgressFn", Callable[[], bool]], "OptimizeResult"]
PROGRESS_WRITE_INTERVAL_S = 0.5
CANCEL_POLL_INTERVAL_S = 0.5
MEDIA_TYPES = {
    ".onnx": "application/octet-stream",
    ".json": "application/json",
    ".html": "text/html",
    ".png": "image/png",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".tar": "application/x-tar",
}


class JobGone(Exception):
    """The job is no longer this attempt's: cancelled, reaped, or finished elsewhere."""


class JobContext:
    """Progress, cancellation and heartbeat for one claimed job, throttled to spare the database."""

    def __init__(self, settings: Settings, job: ClaimedJob) -> None:
        self.settings = settings
        self.job = job
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._last_write = 0.0
        self._last_poll = 0.0
        self._last_stage: str | None = None
        self._beat = threading.Thread(target=self._heartbeat_loop, name=f"heartbeat-{job.job_id}", daemon=True)

    def __enter__(self) -> JobContext:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._beat.join(timeout=5)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.settings.job_heartbeat_s):
            try:
                with session_scope(self.settings.database_url) as session:
                    if not heartbeat(session, self.job.job_id, self.job.attempt):
                        self._lost.set()
                        return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the reaper tolerates a few
                log.warning("heartbeat failed", exc_info=True)

    def is_cancelled(self) -> bool:
        if self._lost.is_set():
            return True
        now = time.monotonic()
        if now - self._last_poll >= CANCEL_POLL_INTERVAL_S:
            self._last_poll = now
            with session_scope(self.settings.database_url) as session:
                if not still_ours(session, self.job.job_id, self.job.attempt):
                    self._lost.set()
        return self._lost.is_set()

    def progress(
        self,
        stage: str,
        fraction: float,
        message: str = "",
        *,
        type: str = "progress",
        data: dict[str, Any] | None = None,
    ) -> None:
        """The engine's progress callback: stage changes and events are written, fractions throttled."""
        now = time.monotonic()
        new_stage = stage != self._last_stage
        event_type: str | None = type
        if type == "progress":
            if new_stage:
                event_type = "stage"
                message = message or f"stage: {stage}"
            elif now - self._last_write < PROGRESS_WRITE_INTERVAL_S:
                return
            else:
                event_type = None  # plain fraction updates go to the job row, not the event log
        self._last_stage = stage
        self._last_write = now
        with session_scope(self.settings.database_url) as session:
            ok = record_progress(
                session,
                self.job.job_id,
                self.job.attempt,
                stage=stage,
                progress=fraction,
                event_type=event_type,
                message=message,
                data=data,
            )
        if not ok:
            self._lost.set()


def _store_artifacts(store: BlobStore, job: ClaimedJob, artifacts: dict[str, Path]) -> list[dict[str, Any]]:
    rows = []
    for name, path in sorted(artifacts.items()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        size = path.stat().st_size
        key = artifact_key(job.tenant_id, job.job_id, f"attempt-{job.attempt}/{name}")
        store.put_file(key, path)
        rows.append(
            {
                "name": name,
                "media_type": MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                "size_bytes": size,
                "sha256": digest.hexdigest(),
                "blob_key": key,
            }
        )
    return rows


def _fetch_model(store: BlobStore, job: ClaimedJob, work: Path, settings: Settings) -> Path:
    """The job's model in ``work``: one file, or a model archive unpacked to model.onnx + model.onnx.data."""
    if job.model_blob_key.endswith(model_archive.ARCHIVE_SUFFIX):
        archive = work / "model.tar"
        store.get_to_file(job.model_blob_key, archive)
        model_path = model_archive.unpack(archive, work, max_total_bytes=settings.max_model_bytes)
        archive.unlink()
        return model_path
    model_path = work / ("model.pt2" if job.model_format == "torch_export" else "model.onnx")
    store.get_to_file(job.model_blob_key, model_path)
    return model_path


def _bundle_external_data(artifacts: dict[str, Path], model_artifact: str, work: Path) -> tuple[dict[str, Path], str]:
    """A model saved with external data becomes one downloadable archive artifact (model.tar)."""
    data_name = model_artifact + ".data"
    if data_name not in artifacts:
        return artifacts, model_artifact
    bundled = {k: v for k, v in artifacts.items() if k not in (model_artifact, data_name)}
    name = model_artifact.removesuffix(".onnx") + model_archive.ARCHIVE_SUFFIX
    bundled[name] = model_archive.pack(artifacts[model_artifact], artifacts[data_name], work / name)
    return bundled, name


def _record_peak(result: OptimizeResult, peak_bytes: int) -> None:
    """The job process's peak RSS, known only here once it ended, into the report and its report.json."""
    memory = result.report.get("memory")
    if memory is None:
        return
    memory["peak_rss_bytes"] = peak_bytes
    if "report.json" in result.artifacts:
        result.artifacts["report.json"].write_text(json.dumps(result.report, indent=2))


def _finish_failed(settings: Settings, job: ClaimedJob, code: str, message: str) -> None:
    with session_scope(settings.database_url) as session:
        fail(session, job.job_id, job.attempt, code=code, message=message)


def run_job(settings: Settings, job_id: str, *, worker: str, memory_limit_bytes: int, hardware_class: str) -> None:
    """Claim ``job_id`` and run it to a terminal state (or leave it to whoever owns it now).

    The engine runs in a child process held to ``memory_limit_bytes`` (worker/jobproc.py) and is told the
    worker's ``hardware_class`` (its pre-flight and the report name it).
    """
    token = job_id_var.set(job_id)
    try:
        with session_scope(settings.database_url) as session:
            job = claim(session, job_id, worker, hardware_class)
        if job is None:
            log.info("job is not queued for this worker; nothing to do (duplicate, late or misrouted delivery)")
            return
        log.info("job claimed", extra={"attempt": job.attempt, "hardware_class": hardware_class})
        _execute(settings, job, memory_limit_bytes, hardware_class)
    finally:
        job_id_var.reset(token)


def _engine_call(
    settings: Settings,
    job: ClaimedJob,
    recipe: Recipe,
    model_path: Path,
    work: Path,
    hardware_class: str,
    memory_limit_bytes: int | None = None,
) -> EngineCall:
    """The engine's run of the job, as the job's child process calls it (it sees only files and the pipe)."""

    def call(progress: ProgressFn, is_cancelled: Callable[[], bool]) -> OptimizeResult:
        from worker.engine import optimize

        # pooled connections came with the fork and belong to the parent; the tuning study opens its own
        get_engine(settings.database_url).dispose(close=False)
        out_dir = work / "out"
        out_dir.mkdir()
        return optimize(
            model_path,
            work / "data.npz",
            recipe,
            out_dir,
            model_format=job.model_format,  # type: ignore[arg-type]
            progress=progress,
            is_cancelled=is_cancelled,
            threads=settings.engine_threads,
            latency_budget_s=settings.engine_latency_budget_s,
            hardware_class=hardware_class,
            memory_limit_bytes=memory_limit_bytes,  # the engine's pre-flight refuses a job that cannot fit
            # a redelivered job continues its tuning study from the database instead of starting over
            study_storage=study_storage_url(settings.database_url) if recipe.tune else None,
            study_name=study_name(job.job_id) if recipe.tune else None,
        )

    return call


def _preload_engine(recipe: Recipe, model_format: str) -> None:
    """Import in this process what the job's child will need, once per worker process instead of once per job."""
    import onnxruntime  # noqa: F401 - every job runs onnxruntime

    if model_format == "torch_export" or recipe.tune is not None or any(p.type == "prune" for p in recipe.passes):
        import torch  # noqa: F401 - a few seconds to import; importing runs nothing, so forking after it is safe


def _execute(settings: Settings, job: ClaimedJob, memory_limit_bytes: int, hardware_class: str) -> None:
    from worker.engine import Cancelled, EngineError
    from worker.jobproc import ChildDied, run_in_child

    store = make_store(settings)
    recipe = Recipe.model_validate(job.recipe)
    with tempfile.TemporaryDirectory(prefix=f"slimline-{job.job_id}-") as tmp, JobContext(settings, job) as ctx:
        work = Path(tmp)
        stored: list[dict[str, Any]] = []
        try:
            ctx.progress("fetching inputs", 0.0)
            model_path = _fetch_model(store, job, work, settings)
            store.get_to_file(job.dataset_blob_key, work / "data.npz")
            _preload_engine(recipe, job.model_format)
            result, peak_bytes = run_in_child(
                _engine_call(settings, job, recipe, model_path, work, hardware_class, memory_limit_bytes),
                limit_bytes=memory_limit_bytes,
                progress=ctx.progress,
                is_cancelled=ctx.is_cancelled,
                # CUDA maps tens of GB of address space it never touches: such a job is held by resident memory only
                limit_address_space=not needs_gpu(recipe),
            )
            log.info("engine finished", extra={"peak_rss_mb": peak_bytes // MIB, "limit_mb": memory_limit_bytes // MIB})
            _record_peak(result, peak_bytes)
            if ctx.is_cancelled():
                raise Cancelled("cancelled", "the job was cancelled")
            ctx.progress("storing artifacts", 0.99)
            ctx.progress(
                "storing artifacts",
                0.99,
                f"the job's process peaked at {peak_bytes // MIB} MB of its {memory_limit_bytes // MIB} MB limit",
                type="log",
                data={"peak_rss_bytes": peak_bytes, "memory_limit_bytes": memory_limit_bytes},
            )
            artifacts, model_artifact = _bundle_external_data(result.artifacts, result.model_artifact, work)
            stored = _store_artifacts(store, job, artifacts)
            with session_scope(settings.database_url) as session:
                done = succeed(
                    session,
                    job.job_id,
                    job.attempt,
                    result={"model_artifact": model_artifact, "report": result.report},
                    artifacts=stored,
                )
            if not done:
                raise Cancelled("cancelled", "the job changed state while finishing")
            log.info("job succeeded")
        except Cancelled:
            log.info("job stopped: cancelled or taken over")
            for row in stored:
                store.delete(row["blob_key"])
        except EngineError as exc:
            log.info("job failed", extra={"code": exc.code, "error": exc.message})
            _finish_failed(settings, job, exc.code, exc.message)
        except SoftTimeLimitExceeded:
            _finish_failed(
                settings,
                job,
                "time_limit_exceeded",
                f"the job ran longer than {settings.job_soft_time_limit_s} s and was stopped",
            )
        except ChildDied as exc:
            log.error("job's process died", extra={"error": str(exc)})
            _finish_failed(settings, job, "internal_error", f"{exc}; the job id is {job.job_id}")
        except Exception as exc:  # noqa: BLE001 - the worker must survive anything a job does
            log.exception("job crashed")
            _finish_failed(
                settings,
                job,
                "internal_error",
                f"unexpected error in the worker ({type(exc).__name__}); the job id is {job.job_id}",
            )
