"""How much memory one job may use, and how much a process tree uses now (read from /proc, Linux only).

The limit is ``SLIMLINE_JOB_MEMORY_LIMIT_BYTES`` when set, else derived: the memory this worker may use (the
host's, or its own cgroup's limit when lower) less a reserve for the worker itself, divided by its concurrency
(docs/architecture.md §3, Per-job limits).
"""

from __future__ import annotations

from pathlib import Path

MIB = 1024**2
GIB = 1024**3
# What the Celery main process and its pool processes keep for themselves (torch and onnxruntime imported).
WORKER_RESERVE_MIN_BYTES = 1 * GIB
WORKER_RESERVE_FRACTION = 0.10
MIN_JOB_LIMIT_BYTES = 256 * MIB
# cgroup v1 spells "no limit" as a huge page-aligned number (9223372036854771712).
_UNLIMITED_FROM = 2**60


def derived_limit_bytes(available_bytes: int, concurrency: int) -> int:
    """A job's share of ``available_bytes``: less the worker's reserve, divided by ``concurrency`` (>= 1)."""
    reserve = max(WORKER_RESERVE_MIN_BYTES, int(available_bytes * WORKER_RESERVE_FRACTION))
    return max(MIN_JOB_LIMIT_BYTES, (available_bytes - reserve) // max(1, concurrency))


def job_limit_bytes(configured: int | None, concurrency: int) -> int:
    """The configured limit, or the derived one from this machine's memory and the worker's concurrency."""
    if configured is not None:
        return configured
    return derived_limit_bytes(available_memory_bytes(), concurrency)


def available_memory_bytes(root: Path = Path("/")) -> int:
    """The host's total memory, or the limit of this process's cgroup (v1 or v2, or any ancestor's) when lower."""
    total = _meminfo_total_bytes(root / "proc/meminfo")
    limit = cgroup_limit_bytes(root)
    return min(total, limit) if limit is not None else total


def cgroup_limit_bytes(root: Path = Path("/")) -> int | None:
    """The lowest memory limit on the path of this process's memory cgroup, or None when there is none."""
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    limits: list[int] = []
    for line in lines:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "":
            limits += _limits_on_path(root / "sys/fs/cgroup", path, "memory.max")
        elif "memory" in controllers.split(","):
            limits += _limits_on_path(root / "sys/fs/cgroup/memory", path, "memory.limit_in_bytes")
    return min(limits) if limits else None


def _limits_on_path(mount: Path, path: str, name: str) -> list[int]:
    # In a container the cgroup's path may be absent from its own mount (the mount is its root): the mount's
    # own file then holds the limit; otherwise every level from the cgroup up to the mount can set one.
    parts = [p for p in path.strip("/").split("/") if p and p != ".."]
    found = []
    for depth in range(len(parts), -1, -1):
        value = _read_limit(mount.joinpath(*parts[:depth], name))
        if value is not None:
            found.append(value)
    return found


def _read_limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.isdigit():  # "max" (v2): no limit at this level
        return None
    value = int(text)
    return value if value < _UNLIMITED_FROM else None


def _meminfo_total_bytes(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no MemTotal in {path}")


def status_bytes(pid: int, field: str) -> int:
    """A ``Vm*`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``, ``VmSize``, ``VmPeak``) in bytes; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and its living descendants (from ``/proc/<pid>/task/<tid>/children``)."""
    seen = [pid]
    index = 0
    while index < len(seen):
        current = seen[index]
        index += 1
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            for task in tasks:
                try:
                    seen += [int(child) for child in (task / "children").read_text().split()]
                except OSError:
                    continue
        except OSError:
            continue
    return seen


def tree_rss_bytes(pid: int) -> int:
    """The resident memory of ``pid`` and its descendants, in bytes (shared pages counted in each)."""
    return sum(status_bytes(member, "VmRSS") for member in process_tree(pid))
