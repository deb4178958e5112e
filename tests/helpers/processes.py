"""Child processes the tests start: the API, Celery workers, an S3 server; their output is kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = Path(os.environ.get("SLIMLINE_TEST_LOG_DIR", "/tmp/slimline-test-logs"))  # child output, for debugging
SLIMLINE = [sys.executable, "-m", "app.cli"]
# Jobs started by the tests time each comparison this long (seconds; 1.5 in production): the tests check what
# is decided and reported, never how fast a model is, and the whole suite runs a few hundred comparisons.
TEST_LATENCY_BUDGET_S = "0.3"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process whose output is captured (and printed when a test fails)."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, start_new_session=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / f"{self.name}-{self.proc.pid}.log").open("w") as log:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip())
                log.write(line)
                log.flush()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first line of output that contains ``text``; fails after ``timeout`` seconds or an exit."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if text in line:
                    return line
            seen = max(0, len(self.lines) - 1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not print {text!r}:\n" + "\n".join(self.lines[-60:]))

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    def kill(self, sig: int = 9) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP the whole process group: alive but silent (no heartbeat), as a hung host looks."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until_up(process: Process, url: str, *, ok: set[int] | None = None, timeout: float = 60) -> None:
    """Poll ``url`` until it answers with a status in ``ok`` (any status when None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = httpx.get(url, timeout=5).status_code
            if ok is None or status in ok:
                return
        except httpx.TransportError:
            pass
        if process.proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{process.name} did not answer at {url}:\n{process.tail(60)}")


def start_worker(env: dict[str, str], queues: str = "cpu,gpu", name: str = "worker") -> Process:
    """``slimline worker``, once Celery says it is ready."""
    worker = Process([*SLIMLINE, "worker", "--queues", queues], env, name)
    worker.wait_for("ready.", timeout=90)
    return worker


def start_api(env: dict[str, str], *options: str) -> tuple[Process, str]:
    """``slimline api`` (with ``options``) on a free port, once ``/healthz`` answers; returns the process and URL."""
    port = free_port()
    api = Process([*SLIMLINE, "api", "--host", "127.0.0.1", "--port", str(port), *options], env, "api")
    url = f"http://127.0.0.1:{port}"
    wait_until_up(api, url + "/healthz", ok={200})
    return api, url


def start_s3_server() -> tuple[Process, str]:
    """A real S3-compatible server (moto's server mode); returns the process and its endpoint URL."""
    port = free_port()
    server = Process(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
        "moto",
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(server, url)
    return server, url
