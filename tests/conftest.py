"""Fixtures that talk to the real things: Postgres, Redis, a Celery worker process, a live server."""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from app.core.settings import Settings

PG_ADMIN_URL = os.environ.get("SLIMLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("SLIMLINE_TEST_REDIS", "redis://127.0.0.1:6379")
REPO = Path(__file__).resolve().parent.parent
LOG_DIR = Path(
    os.environ.get("SLIMLINE_TEST_LOG_DIR", "/tmp/slimline-test-logs")
)  # child process output, for debugging


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh Postgres database for this test run, migrated to head."""
    name = f"slimline_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from app.core.migrate import upgrade

    upgrade(Settings(database_url=url, data_dir=Path("/nonexistent-slimline")))
    yield url
    from app.core.db import get_engine

    get_engine(url).dispose()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database index of our own for this run (flushed before and after)."""
    index = random.randint(1, 15)
    url = f"{REDIS_BASE}/{index}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture(scope="session")
def service_env(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for processes started by the tests (API, workers) on Postgres + Redis."""
    data_dir = tmp_path_factory.mktemp("slimline-data")
    return {
        **os.environ,
        "SLIMLINE_DATA_DIR": str(data_dir),
        "SLIMLINE_DATABASE_URL": pg_url,
        "SLIMLINE_BROKER_URL": redis_url,
        "SLIMLINE_JOB_HEARTBEAT_S": "1",
        "SLIMLINE_JOB_STALE_AFTER_S": "6",
        "SLIMLINE_REAPER_INTERVAL_S": "1",
        "SLIMLINE_ENQUEUE_GRACE_S": "3",
        "SLIMLINE_ENGINE_THREADS": "1",
        "SLIMLINE_LOG_JSON": "true",
        "SLIMLINE_WEBHOOK_ALLOW_PRIVATE": "true",  # the tests' webhook receiver listens on loopback
        "SLIMLINE_WEBHOOK_BACKOFF_S": "0.5",
    }


@pytest.fixture(scope="session")
def settings(service_env: dict[str, str]) -> Settings:
    env = {k.removeprefix("SLIMLINE_").lower(): v for k, v in service_env.items() if k.startswith("SLIMLINE_")}
    return Settings(**env)


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(settings)


@pytest.fixture()
def client(app) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def new_api_key(database_url: str, tenant: str | None = None) -> str:
    from app.core.db import session_scope
    from app.tenants.keys import create_key

    with session_scope(database_url) as session:
        _, _, plaintext = create_key(session, tenant or f"tenant-{secrets.token_hex(6)}")
    return plaintext


@pytest.fixture()
def auth(settings: Settings) -> dict[str, str]:
    """Headers for a brand-new tenant: every test sees only its own data."""
    return {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}


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

    def kill(self, sig: int = 9) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


SLIMLINE = [sys.executable, "-m", "app.cli"]


def start_worker(env: dict[str, str], queues: str = "cpu,gpu", name: str = "worker") -> Process:
    worker = Process([*SLIMLINE, "worker", "--queues", queues], env, name)
    worker.wait_for("ready.", timeout=90)
    return worker


def start_api(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    api = Process([*SLIMLINE, "api", "--host", "127.0.0.1", "--port", str(port)], env, "api")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return api, url
        except httpx.TransportError:
            time.sleep(0.2)
        if api.proc.poll() is not None:
            break
    raise AssertionError("API did not start:\n" + "\n".join(api.lines[-60:]))


@pytest.fixture(scope="session")
def worker(service_env: dict[str, str]) -> Iterator[Process]:
    process = start_worker(service_env)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def live_api(service_env: dict[str, str]) -> Iterator[str]:
    process, url = start_api(service_env)
    yield url
    process.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) in its own process."""
    port = free_port()
    server = Process(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
        "moto",
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield url
    server.stop()


def s3_settings_for(endpoint: str, bucket: str) -> dict[str, str]:
    import boto3

    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=bucket)
    return {
        "SLIMLINE_STORAGE_URL": f"s3://{bucket}/slimline",
        "SLIMLINE_S3_ENDPOINT_URL": endpoint,
        "SLIMLINE_S3_ACCESS_KEY_ID": "test",
        "SLIMLINE_S3_SECRET_ACCESS_KEY": "test",
        "SLIMLINE_S3_MULTIPART_CHUNK_BYTES": str(5 * 1024**2),
    }
