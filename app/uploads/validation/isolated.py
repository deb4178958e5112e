"""Run upload validation in child processes, away from the API process: one fresh child per check.

``onnx.load`` reads a whole model into memory and a hostile file can make parsers misbehave; in a
child the memory goes back to the system when the check ends, an address-space limit bounds what a
single check may take, and a crash or a timeout costs that check's own child only: no pool is
shared, so another tenant's check in flight never sees it (issue 19, point 11). Children are forked
from a forkserver that has the validators imported already, so a check starts in milliseconds.
A child works in an empty, removed directory, so a relative name inside a file resolves to nothing.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import DomainError, InvalidDataset, InvalidModel

T = TypeVar("T")


@dataclass
class Limits:
    """What one check may take: address space (bytes), wall time (s); ``max_concurrent`` children at once."""

    memory_bytes: int = 16 * 1024**3
    timeout_s: float = 600.0
    max_concurrent: int = max(2, os.cpu_count() or 2)


limits = Limits()
_slots = threading.BoundedSemaphore(limits.max_concurrent)
_context_lock = threading.Lock()
_context: Any = None


def configure(*, memory_bytes: int | None = None, timeout_s: float | None = None) -> Limits:
    """Change the per-check limits (the tests use a tiny timeout); returns the previous ones."""
    previous = Limits(limits.memory_bytes, limits.timeout_s, limits.max_concurrent)
    if memory_bytes is not None:
        limits.memory_bytes = memory_bytes
    if timeout_s is not None:
        limits.timeout_s = timeout_s
    return previous


def _get_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["app.uploads.validation"])
        return _context


def _child(conn: Connection, memory_bytes: int, function: Callable[..., Any], args: Any, kwargs: Any) -> None:
    """In the child: limit memory, leave the API's working directory, run the check, send the outcome."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    empty = tempfile.mkdtemp(prefix="slimline-check-")
    os.chdir(empty)
    os.rmdir(empty)
    try:
        outcome: tuple[bool, Any] = (True, function(*args, **kwargs))
    except DomainError as exc:
        outcome = (False, exc)
    except BaseException:  # noqa: BLE001 - MemoryError and the like: the parent reports it as its own error
        outcome = (False, None)
    try:
        conn.send(outcome)
    except BaseException:  # noqa: BLE001 - an outcome that cannot be sent is a failed check
        conn.send((False, None))
    finally:
        conn.close()


def shutdown() -> None:
    """Nothing to stop: every check's child ends with its check (kept for the application's lifespan)."""


def _isolated(function: Callable[..., T], error: type[DomainError], what: str, *args: Any, **kwargs: Any) -> T:
    context = _get_context()
    memory_bytes, timeout_s = limits.memory_bytes, limits.timeout_s
    with _slots:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child, args=(sender, memory_bytes, function, args, kwargs), name="slimline-check", daemon=True
        )
        try:
            child.start()
        finally:
            sender.close()
        try:
            if not receiver.poll(timeout_s):
                raise error(f"validating the {what} took longer than {timeout_s:g} s")
            try:
                ok, value = receiver.recv()
            except (EOFError, OSError):
                ok, value = False, None
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receiver.close()
    if ok:
        return value  # type: ignore[no-any-return]
    if isinstance(value, DomainError):
        raise value
    raise error(f"the {what} could not be validated: the check ran out of memory or crashed")


def inspect_model(
    path: Path, *, filename: str, repack_to: Path | None = None, max_archive_bytes: int = 20 * 1024**3
) -> Any:
    from app.uploads import validation

    return _isolated(
        validation.inspect_model,
        InvalidModel,
        "model",
        path.absolute(),
        filename=filename,
        repack_to=repack_to.absolute() if repack_to is not None else None,
        max_archive_bytes=max_archive_bytes,
    )


def inspect_dataset(path: Path, *, max_uncompressed_bytes: int) -> Any:
    from app.uploads import validation

    return _isolated(
        validation.inspect_dataset,
        InvalidDataset,
        "dataset",
        path.absolute(),
        max_uncompressed_bytes=max_uncompressed_bytes,
    )
