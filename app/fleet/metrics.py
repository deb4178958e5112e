"""Fleet gauges for Prometheus, computed from the database at scrape time: queue depth per queue, and per
hardware class the live and busy workers and the jobs waiting for it (what KEDA scales each class on)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from app.core.db import session_scope
from app.core.models import Job
from app.fleet.registry import class_summaries
from app.jobs.routing import FANOUT


class FleetCollector:
    def __init__(self, database_url: str, worker_lost_after_s: float) -> None:
        self.database_url = database_url
        self.worker_lost_after_s = worker_lost_after_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("slimline_queue_depth", "Queued jobs by queue", labels=["queue"])
        live = GaugeMetricFamily("slimline_workers_live", "Live workers by hardware class", labels=["hardware_class"])
        busy = GaugeMetricFamily("slimline_workers_busy", "Workers running a job", labels=["hardware_class"])
        class_depth = GaugeMetricFamily(
            "slimline_hardware_queue_depth", "Jobs queued for a hardware class", labels=["hardware_class"]
        )
        try:
            with session_scope(self.database_url) as session:
                for queue, count in session.execute(
                    select(Job.queue, func.count())
                    .where(Job.status == "queued", Job.queue != FANOUT)  # a multi-target job waits on its targets
                    .group_by(Job.queue)
                ):
                    depth.add_metric([queue], count)
                for summary in class_summaries(session, self.worker_lost_after_s):
                    live.add_metric([summary.hardware_class], summary.live_workers)
                    busy.add_metric([summary.hardware_class], summary.busy_workers)
                    class_depth.add_metric([summary.hardware_class], summary.queued_jobs)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            logging.getLogger("slimline.metrics").warning("fleet metrics unavailable: database unreachable")
        yield from (depth, live, busy, class_depth)
