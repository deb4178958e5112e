"""The fleet for terminals: hardware classes (``GET /v1/hardware``) and workers (``GET /v1/workers``), from
their JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.table import Table

GIB = 1024**3


def hardware_table(hardware: dict[str, Any]) -> Table:
    """One row per hardware class: live and busy workers, queued and running jobs."""
    table = Table(title="hardware classes (target.hardware)")
    table.add_column("class", no_wrap=True)
    for column in ("live", "busy", "queued", "running"):
        table.add_column(column, justify="right")
    for row in hardware["classes"]:
        table.add_row(
            row["hardware_class"],
            str(row["live_workers"]),
            str(row["busy_workers"]),
            str(row["queued_jobs"]),
            str(row["running_jobs"]),
        )
    return table


def generic_queues_text(hardware: dict[str, Any]) -> str:
    """``generic queues (jobs without target.hardware): cpu 2 live workers, gpu 0 live workers``."""
    queues = ", ".join(
        f"{queue} {count} live worker{'s' * (count != 1)}" for queue, count in hardware["generic_queues"].items()
    )
    return f"generic queues (jobs without target.hardware): {queues or 'none'}"


def _size(size_bytes: int | None) -> str:
    return "" if size_bytes is None else f"{size_bytes / GIB:.1f} GiB"


def _class_text(worker: dict[str, Any]) -> str:
    detected = worker.get("detected_class")
    if detected and detected != worker["hardware_class"]:
        return f"{worker['hardware_class']} (set; detected {detected})"
    return str(worker["hardware_class"])


def _gpu_text(gpu: dict[str, Any] | None) -> str:
    if not gpu:
        return ""
    details = [
        f"sm {gpu['compute_capability']}" if gpu.get("compute_capability") else "",
        _size(gpu.get("memory_bytes")),
    ]
    details = [part for part in details if part]
    return gpu["name"] + (f" ({', '.join(details)})" if details else "")


def _versions_text(worker: dict[str, Any]) -> str:
    names = (("slimline", "slimline_version"), ("onnxruntime", "onnxruntime_version"), ("torch", "torch_version"))
    return ", ".join(f"{name} {worker[key]}" for name, key in names if worker.get(key))


def _heartbeat_text(at: str, now: datetime) -> str:
    """The heartbeat's time and its age (``2026-01-02T03:04:05+00:00, 3 s ago``)."""
    beat = datetime.fromisoformat(at)
    age_s = (now - (beat if beat.tzinfo else beat.replace(tzinfo=UTC))).total_seconds()
    return f"{at}, {max(age_s, 0):.0f} s ago"


def workers_table(workers: list[dict[str, Any]], now: datetime | None = None) -> Table:
    """Every worker: where it runs, its class, state and jobs, the machine, and when it last beat."""
    now = now or datetime.now(UTC)
    table = Table()
    table.add_column("id", no_wrap=True, overflow="fold")
    for column in ("host", "class", "state"):
        table.add_column(column)
    table.add_column("jobs", overflow="fold")  # job ids are never cut
    for column in ("cpu", "cores", "memory", "isa", "gpu", "providers"):
        table.add_column(column)
    table.add_column("versions")
    table.add_column("heartbeat")
    for worker in workers:
        table.add_row(
            worker["id"],
            worker["host"],
            _class_text(worker),
            worker["state"],
            ", ".join(worker["current_jobs"]),
            worker.get("cpu_model") or "",
            str(worker.get("cpu_cores") or ""),
            _size(worker.get("memory_bytes")),
            " ".join(worker.get("cpu_features") or []),
            _gpu_text(worker.get("gpu")),
            ", ".join(worker.get("providers") or []),
            _versions_text(worker),
            _heartbeat_text(str(worker["heartbeat_at"]), now),
        )
    return table
