"""The engine's run of one job in a child process with a memory limit (docs/architecture.md §3, Per-job limits).

The worker's process forks a child that runs the engine; the child's progress comes back over a pipe and the
parent writes it, polls cancellation and watches the resident memory of the child's process tree. Three
things hold the limit: onnxruntime's CPU arena is capped at it (a huge tensor is refused at once), the
child's address space is capped at its start size plus twice the limit (a huge single allocation anywhere
fails at once), and the parent kills the tree when its resident memory passes the limit. Either way the job
fails with ``resource_limit_exceeded`` and the worker takes its next job.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import re
import resource
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from worker.engine.errors import Cancelled, EngineError
from worker.engine.progress import ProgressFn
from worker.job_memory import MIB, process_tree, status_bytes, tree_rss_bytes

log = logging.getLogger("slimline.worker.jobproc")
T = TypeVar("T")
WATCH_INTERVAL_S = 0.05
CANCEL_GRACE_S = 5.0
# Mapped is not used: thread stacks and allocator arenas reserve far more address space than they touch.
ADDRESS_SPACE_LIMIT_FACTOR = 2
RESOURCE_LIMIT_EXCEEDED = "resource_limit_exceeded"
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
PROCESS_NAME = "slimline-job"  # the job process's name in /proc/<pid>/comm (ps, top)
# What onnxruntime, numpy, torch and the C++ runtime say when an allocation is refused.
_OUT_OF_MEMORY = re.compile(
    r"bad_alloc|Failed to allocate memory|BFCArena|Available memory of \d+ is smaller|Unable to allocate"
    r"|can't allocate memory|Cannot allocate memory|out of memory",
    re.IGNORECASE,
)
_GPU = re.compile(r"\bCUDA\b|\bGPU\b|cudaMalloc", re.IGNORECASE)
_REQUESTED = re.compile(r"requested bytes of (\d+)|Unable to allocate ([\d.]+) (KiB|MiB|GiB|TiB)")


class ResourceLimitExceeded(EngineError):
    """The job needed more memory than its limit; the message names the limit and the peak, in MB."""

    def __init__(self, limit_bytes: int, peak_bytes: int, refused_bytes: int | None = None) -> None:
        refused = f"; an allocation of {refused_bytes // MIB} MB was refused" if refused_bytes else ""
        super().__init__(
            RESOURCE_LIMIT_EXCEEDED,
            f"the job needed more memory than its limit of {limit_bytes // MIB} MB (peak {peak_bytes // MIB} MB"
            f"{refused}) and was stopped; use a smaller model, smaller shapes or fewer samples, or ask for a worker "
            "with a higher SLIMLINE_JOB_MEMORY_LIMIT_BYTES",
        )
        self.limit_bytes = limit_bytes
        self.peak_bytes = peak_bytes


class ChildDied(Exception):
    """The job's process ended without an answer (a signal, or an exit in native code)."""


def run_in_child(
    call: Callable[[ProgressFn, Callable[[], bool]], T],
    *,
    limit_bytes: int,
    progress: ProgressFn,
    is_cancelled: Callable[[], bool],
    limit_address_space: bool = True,
) -> tuple[T, int]:
    """Run ``call(progress, is_cancelled)`` in a forked child held to ``limit_bytes``; returns its result and peak.

    The peak is the highest resident memory of the child's tree, in bytes. Raises ResourceLimitExceeded,
    the child's EngineError (code and message kept), Cancelled, or ChildDied; any exception in this process
    (SoftTimeLimitExceeded included) kills the child first.
    """
    ours, theirs = multiprocessing.Pipe()
    cancel = multiprocessing.Event()
    parent_pid = os.getpid()
    # os.fork, not multiprocessing.Process: Celery's pool processes are daemonic, and those may not have children
    pid = os.fork()
    if pid == 0:  # the child: run the call, answer, and never return into the worker's code
        exit_code = 1
        try:
            ours.close()
            _child_main(theirs, cancel, call, limit_bytes, limit_address_space, parent_pid)
            exit_code = 0
        finally:
            os._exit(exit_code)
    theirs.close()
    child = _Child(pid)
    peak = 0
    cancel_deadline: float | None = None
    try:
        while True:
            rss = tree_rss_bytes(pid)
            peak = max(peak, rss)
            if rss > limit_bytes:
                _kill_tree(pid)
                raise ResourceLimitExceeded(limit_bytes, peak)
            if cancel_deadline is None and is_cancelled():
                cancel.set()  # the engine stops at its next check; the grace bounds a stuck step
                cancel_deadline = time.monotonic() + CANCEL_GRACE_S
            elif cancel_deadline is not None and time.monotonic() > cancel_deadline:
                raise Cancelled()
            if ours.poll(WATCH_INTERVAL_S):
                try:
                    message = ours.recv()
                except EOFError:
                    message = None
                if message is not None and message[0] == "progress":
                    progress(*message[1], **message[2])
                    continue
                child.wait(timeout=30)
                return _answer(message, child, limit_bytes, peak)
            if not child.alive() and not ours.poll(0):
                return _answer(None, child, limit_bytes, peak)
    finally:
        if child.alive():
            _kill_tree(pid)
        child.wait(timeout=30)
        ours.close()


class _Child:
    """A forked process, reaped by us (waitpid), with how it ended."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None

    def alive(self) -> bool:
        if self.status is None:
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.status = status
        return self.status is None

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.alive():  # a child that answered but hangs on exit (a native thread): it is done
            _kill_tree(self.pid)
            with contextlib.suppress(ChildProcessError):
                self.status = os.waitpid(self.pid, 0)[1]

    def ending(self) -> str:
        if self.status is None:
            return "still running"
        if os.WIFSIGNALED(self.status):
            return f"killed by {signal.Signals(os.WTERMSIG(self.status)).name}"
        return f"exit status {os.waitstatus_to_exitcode(self.status)}"


def _answer(message: tuple[Any, ...] | None, child: _Child, limit_bytes: int, peak: int) -> Any:
    if message is None:
        raise ChildDied(f"the job's process ended without an answer ({child.ending()})")
    kind, *rest = message
    peak = max(peak, rest[-1])
    if kind == "done":
        return rest[0], peak
    if kind == "memory":
        raise ResourceLimitExceeded(limit_bytes, peak, rest[0])
    if kind == "cancelled":
        raise Cancelled()
    if kind == "error":
        raise EngineError(rest[0], rest[1])
    raise ChildDied(f"the job's process failed ({rest[0]})")


def _kill_tree(pid: int) -> None:
    for member in reversed(process_tree(pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def _child_main(
    conn: Connection,
    cancel: Any,
    call: Callable[[ProgressFn, Callable[[], bool]], Any],
    limit_bytes: int,
    limit_address_space: bool,
    parent_pid: int,
) -> None:
    _die_with_parent(parent_pid)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)  # Celery's handlers came with the fork; the parent decides
    start_bytes = status_bytes(os.getpid(), "VmSize")
    if limit_address_space:
        budget = start_bytes + ADDRESS_SPACE_LIMIT_FACTOR * limit_bytes
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    from worker.engine import modelio

    modelio.limit_arena(limit_bytes)

    def progress(*args: Any, **kwargs: Any) -> None:
        conn.send(("progress", args, kwargs))

    try:
        answer: tuple[Any, ...] = ("done", call(progress, cancel.is_set))
    except Cancelled:
        answer = ("cancelled",)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as data
        refused = _out_of_memory(exc)
        if refused is not None and not (isinstance(exc, EngineError) and "memory" in exc.code):
            answer = ("memory", refused or None)
        elif isinstance(exc, EngineError):
            answer = ("error", exc.code, exc.message)
        else:
            log.exception("job crashed in its process")
            answer = ("crash", type(exc).__name__)
    peak = status_bytes(os.getpid(), "VmHWM")
    log.info(
        "job process finished",
        extra={
            "answer": answer[0],
            "peak_rss_mb": peak // MIB,
            "address_space_start_mb": start_bytes // MIB,
            "address_space_peak_mb": status_bytes(os.getpid(), "VmPeak") // MIB,
            "limit_mb": limit_bytes // MIB,
        },
    )
    conn.send((*answer, peak))
    conn.close()


def _out_of_memory(exc: BaseException) -> int | None:
    """None when ``exc`` is not an allocation failure; else the refused size in bytes (0 when not said)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if _GPU.search(text):  # the GPU's memory is not the job's limit (the engine names it: gpu_out_of_memory)
            return None
        if isinstance(seen, MemoryError) or _OUT_OF_MEMORY.search(text):
            match = _REQUESTED.search(text)
            if match is None:
                return 0
            if match.group(1):
                return int(match.group(1))
            unit = {"KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB, "TiB": 1024**2 * MIB}[match.group(3)]
            return int(float(match.group(2)) * unit)
        seen = seen.__cause__ or seen.__context__
    return None


def _die_with_parent(parent_pid: int) -> None:
    # A worker killed by Celery's hard time limit or by SIGKILL must not leave its job running.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        libc.prctl(_PR_SET_NAME, PROCESS_NAME.encode())  # what ps and top show
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the parent; an orphaned job ends at its next progress write")
    if os.getppid() != parent_pid:
        os._exit(1)
