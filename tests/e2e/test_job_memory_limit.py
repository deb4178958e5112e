"""A job that needs more memory than the worker's per-job limit fails with ``resource_limit_exceeded``; the
worker survives and runs the next job (docs/architecture.md §3, Per-job limits)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.e2e.serve import serving
from tests.factories import npz_bytes
from tests.helpers import events, submit_job
from tests.hostile import expand_bomb

pytestmark = pytest.mark.e2e
MIB = 1024**2
LIMIT_BYTES = 1536 * MIB
# The watchdog samples every 50 ms; what a job can add between two samples is bounded by this slack.
WATCH_SLACK_BYTES = 256 * MIB
JOB_PROCESS_NAME = "slimline-job"
BOOTSTRAP_KEY = "bootstrap-key-for-memory-tests-0123456789"


class JobMemorySampler:
    """Samples, every 20 ms, the resident memory of every job process under ``root_pid`` and keeps the highest."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.peak_bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> JobMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for pid in _descendants(self.root_pid):
                if _read(f"/proc/{pid}/comm").strip() == JOB_PROCESS_NAME:
                    self.samples += 1
                    self.peak_bytes = max(self.peak_bytes, _rss_bytes(pid))


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = [int(child) for child in _read(f"{task}/children").split()]
            found += children
            queue += children
    return found


def _rss_bytes(pid: int) -> int:
    match = re.search(r"^VmRSS:\s+(\d+) kB", _read(f"/proc/{pid}/status"), re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def test_a_memory_bomb_fails_with_resource_limit_exceeded_and_the_worker_runs_the_next_job(
    tmp_path, cnn_bytes, images_npz
):
    samples = np.random.default_rng(0).standard_normal((32, 1, 4)).astype(np.float32)
    extra_env = {
        "SLIMLINE_JOB_MEMORY_LIMIT_BYTES": str(LIMIT_BYTES),
        "SLIMLINE_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY,
        "SLIMLINE_ENGINE_LATENCY_BUDGET_S": "0.1",  # the second job only has to finish; its speed is not the point
    }
    with (
        serving(tmp_path / "home", extra_env) as served,
        httpx.Client(base_url=served.url, timeout=30) as http,
        JobMemorySampler(served.server.proc.pid) as sampler,
    ):
        bomb = submit_job(http, served.auth, expand_bomb(), npz_bytes(x=samples), timeout=120)
        assert bomb["status"] == "failed", (bomb, served.server.tail())
        assert bomb["error"]["code"] == "resource_limit_exceeded", bomb["error"]
        message = bomb["error"]["message"]
        assert f"limit of {LIMIT_BYTES // MIB} MB" in message, message
        peak = re.search(r"peak (\d+) MB", message)
        assert peak is not None and 0 < int(peak.group(1)) * MIB <= LIMIT_BYTES + WATCH_SLACK_BYTES, message
        assert sampler.samples > 0, "the job's process was never seen"
        assert sampler.peak_bytes <= LIMIT_BYTES + WATCH_SLACK_BYTES, sampler.peak_bytes // MIB

        # the same worker, still up, takes the next job and finishes it
        recipe = {"passes": [{"type": "quantize", "mode": "dynamic"}]}
        done = submit_job(http, served.auth, cnn_bytes, images_npz, recipe=recipe, timeout=120)
        assert done["status"] == "succeeded", (done, served.server.tail())
        assert served.server.proc.poll() is None
        peaks = [e["data"] for e in events(http, served.auth, done["id"]) if "peak_rss_bytes" in (e["data"] or {})]
        assert len(peaks) == 1 and peaks[0]["memory_limit_bytes"] == LIMIT_BYTES, peaks
        assert 0 < peaks[0]["peak_rss_bytes"] <= LIMIT_BYTES
