"""Fixtures that talk to the real things: Postgres, Redis, a Celery worker process, a live server.

Fixtures only; the functions they use live in tests/helpers/.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from app.core.settings import Settings
from tests.factories import cnn_onnx, image_dataset
from tests.helpers import (
    TEST_LATENCY_BUDGET_S,
    Process,
    cancel_queued_jobs,
    new_api_key,
    pg_admin,
    start_api,
    start_s3_server,
    start_worker,
)
from tests.helpers.services import REDIS_BASE


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh Postgres database for this test run, migrated to head."""
    name = f"slimline_test_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from app.core.migrate import upgrade

    upgrade(Settings(database_url=url, data_dir=Path("/nonexistent-slimline")))
    yield url
    from app.core.db import get_engine

    get_engine(url).dispose()
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database index of our own for this run (flushed before and after).

    A session uses its index and the four after it (``own_broker`` offsets 1-4), so under pytest-xdist each
    process takes a block of five: gw0 1-5, gw1 6-10, gw2 11-15 (three processes at most).
    """
    xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = 1 + 5 * (int(xdist_worker.removeprefix("gw")) % 3) if xdist_worker else random.randint(1, 15)
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
        "SLIMLINE_WORKER_HEARTBEAT_S": "1",
        "SLIMLINE_WORKER_LOST_AFTER_S": "4",
        "SLIMLINE_ENQUEUE_GRACE_S": "3",
        "SLIMLINE_ENGINE_THREADS": "1",
        "SLIMLINE_ENGINE_LATENCY_BUDGET_S": TEST_LATENCY_BUDGET_S,
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


@pytest.fixture()
def auth(settings: Settings) -> dict[str, str]:
    """Headers for a brand-new tenant: every test sees only its own data."""
    return {"Authorization": f"Bearer {new_api_key(settings.database_url)}"}


@pytest.fixture(scope="module")
def worker(service_env: dict[str, str], settings: Settings) -> Iterator[Process]:
    """A worker for the test file that asks for one, started on a clean queue: jobs earlier tests left queued are
    cancelled first. It stops with the file, so that no worker outlives the file that wanted it: one would take
    the jobs of a later file that expects them to stay queued, and its reaper would re-send other brokers' jobs
    (tests on their own Redis database share this database)."""
    cancel_queued_jobs(settings.database_url)
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
    server, url = start_s3_server()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def cnn_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The small CNN of tests.factories as ONNX bytes (input ``x`` [batch, 1, 8, 8], output ``logits``)."""
    return cnn_onnx(tmp_path_factory.mktemp("models") / "cnn.onnx").read_bytes()


@pytest.fixture(scope="session")
def images_npz() -> bytes:
    """64 images with labels for :func:`cnn_bytes`."""
    return image_dataset(64)
