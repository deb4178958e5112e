"""A job's place in the fleet for terminals: why a queued job waits, where it runs, and the targets of a
multi-target job (one run per hardware class). Works on the job as JSON (``JobRead.to_dict()``)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from slimline_client.report_view import speedup_text


def waiting_text(job: dict[str, Any]) -> str | None:
    """``waiting for hardware: no live worker of class cpu-amx`` for a queued job no worker can take; else None."""
    if job.get("status_reason") != "waiting_for_hardware":
        return job.get("status_reason")
    if job.get("hardware_class"):
        return f"waiting for hardware: no live worker of class {job['hardware_class']}"
    device = ((job.get("recipe") or {}).get("target") or {}).get("device", "cpu")
    return f"waiting for hardware: no live worker takes the {'gpu' if device == 'cuda' else 'cpu'} queue"


def ran_on(job: dict[str, Any]) -> str | None:
    """The hardware class the job runs (or ran) on: its target's, else what its report's environment names."""
    report = (job.get("result") or {}).get("report") or {}
    return job.get("hardware_class") or (report.get("environment") or {}).get("hardware_class")


def status_line(job: dict[str, Any]) -> str:
    """``job_…: queued for cpu-amx (waiting for hardware: …)`` or ``job_…: succeeded on cpu-avx2`` (rich markup)."""
    where = ran_on(job)
    preposition = "for" if job["status"] == "queued" else "on"
    line = escape(f"{job['id']}: {job['status']}" + (f" {preposition} {where}" if where else ""))
    reason = waiting_text(job)
    if reason and job["status"] == "queued":
        line += f" [yellow]({escape(reason)})[/yellow]"
    return line


def targets_table(job: dict[str, Any]) -> Table:
    """One row per target of a multi-target job: class, job id, status (and why it waits), speedup, goal met."""
    table = Table(title=f"targets of {job['id']} (comparison.html compares them)")
    table.add_column("class", no_wrap=True)
    table.add_column("job", no_wrap=True, overflow="fold")
    for column in ("status", "speedup", "goal met"):
        table.add_column(column)
    for target in job.get("targets") or []:
        report = (target.get("result") or {}).get("report")
        status = target["status"]
        reason = waiting_text({**target, "recipe": job.get("recipe")})
        if reason and status == "queued":
            status += f" ({reason})"
        elif target.get("error"):
            status += f" ({target['error']['code']}: {target['error']['message']})"
        elif status == "running":
            status += f" {target['progress']:.0%}"
        table.add_row(
            target["hardware_class"],
            target["job_id"],
            status,
            speedup_text(report) if report else "",
            ("yes" if report["goal_met"] else "no") if report else "",
        )
    return table


def targets_missing_goal(job: dict[str, Any]) -> list[str]:
    """The classes of a multi-target job whose run did not succeed or did not meet its goal."""
    return [
        target["hardware_class"]
        for target in job.get("targets") or []
        if target["status"] != "succeeded" or not ((target.get("result") or {}).get("report") or {}).get("goal_met")
    ]
