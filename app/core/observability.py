"""Structured JSON logs (with request id and job id) and Prometheus metrics."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        if (jid := job_id_var.get()) is not None:
            entry.setdefault("job_id", jid)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests with their ids


DURATION_BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))


class JobCollector:
    """Job gauges computed from the database at scrape time (works across API replicas and workers).

    Queue depths and worker gauges are the fleet's (``app.fleet.metrics``).
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self):  # type: ignore[no-untyped-def]
        from app.core.db import session_scope
        from app.core.models import Job

        by_status = GaugeMetricFamily("slimline_jobs", "Jobs by status", labels=["status"])
        duration = HistogramMetricFamily(
            "slimline_job_duration_seconds", "Run time of finished jobs", labels=["status"]
        )
        if self.database_url.startswith("sqlite"):
            elapsed = (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
        else:
            elapsed = func.extract("epoch", Job.finished_at - Job.started_at)
        try:
            with session_scope(self.database_url) as session:
                for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
                    by_status.add_metric([status], count)
                bucket_cols = [func.sum(case((elapsed <= b, 1), else_=0)) for b in DURATION_BUCKETS_S[:-1]]
                stmt = (
                    select(Job.status, func.count(), func.coalesce(func.sum(elapsed), 0), *bucket_cols)
                    .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
                    .group_by(Job.status)
                )
                for status, count, total, *cumulative in session.execute(stmt):
                    buckets = [(str(b), int(c or 0)) for b, c in zip(DURATION_BUCKETS_S[:-1], cumulative, strict=True)]
                    buckets.append(("+Inf", int(count)))
                    duration.add_metric([status], buckets, float(total))
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            logging.getLogger("slimline.metrics").warning("job metrics unavailable: database unreachable")
        yield by_status
        yield duration


class Metrics:
    def __init__(self, database_url: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "slimline_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "slimline_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.registry.register(JobCollector(database_url))  # type: ignore[arg-type]
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def count_request(self, method: str, route: str, status: int, elapsed_s: float) -> None:
        """One HTTP request: its count by status and its latency (seconds), by method and route template."""
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:  # labels() locks and validates on every call: resolve each series once
            children = self._children[key] = (self.requests.labels(*key), self.latency.labels(method, route))
        children[0].inc()
        children[1].observe(elapsed_s)
