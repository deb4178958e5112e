"""Run upload validation in child processes, away from the API process.

``onnx.load`` reads a whole model into memory and a hostile file can make parsers misbehave; in a
child the memory goes back to the system when the check ends, a crash costs one child, and an
address-space limit bounds what a single check may take. Children are forked from a forkserver
that has the validators imported already, so a check starts in milliseconds.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import InvalidDataset, InvalidModel

T = TypeVar("T")
MEMORY_LIMIT_BYTES = 16 * 1024**3
TIMEOUT_S = 600
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["app.uploads.validation"])
            _pool = ProcessPoolExecutor(
                max_workers=2,
                mp_context=context,
                max_tasks_per_child=1,
                initializer=_limit_memory,
                initargs=(MEMORY_LIMIT_BYTES,),
            )
        return _pool


def shutdown() -> None:
    """Stop the validation children (at application shutdown, or after one crashed)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _isolated(function: Callable[..., T], error: type[Exception], what: str, *args: Any, **kwargs: Any) -> T:
    try:
        return _get_pool().submit(function, *args, **kwargs).result(timeout=TIMEOUT_S)
    except BrokenProcessPool:
        shutdown()
        raise error(f"the {what} could not be validated: the check ran out of memory or crashed") from None
    except TimeoutError:
        shutdown()
        raise error(f"validating the {what} took longer than {TIMEOUT_S} s") from None


def inspect_model(path: Path, *, filename: str) -> Any:
    from app.uploads import validation

    return _isolated(validation.inspect_model, InvalidModel, "model", path, filename=filename)


def inspect_dataset(path: Path, *, max_uncompressed_bytes: int) -> Any:
    from app.uploads import validation

    return _isolated(
        validation.inspect_dataset, InvalidDataset, "dataset", path, max_uncompressed_bytes=max_uncompressed_bytes
    )
