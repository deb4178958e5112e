"""The real services the tests use: a Postgres admin connection, Redis databases, API keys, an S3 bucket."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("SLIMLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("SLIMLINE_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_DATABASES = 15  # indexes 1..15; 0 is left to whoever else uses this Redis


def pg_admin(sql: str) -> None:
    """Run one statement as the Postgres admin (CREATE / DROP DATABASE)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def new_api_key(database_url: str, tenant: str | None = None, *, role: str = "tenant") -> str:
    """A fresh API key for ``tenant`` (a new random tenant when None); returns the plaintext key.

    ``role="operator"``: a key that also sees the fleet (GET /v1/workers).
    """
    from app.core.db import session_scope
    from app.tenants.keys import create_key

    with session_scope(database_url) as session:
        _, _, plaintext = create_key(session, tenant or f"tenant-{secrets.token_hex(6)}", role=role)
    return plaintext


def own_broker(env: dict[str, str], redis_url: str, offset: int) -> dict[str, str]:
    """``env`` with a Redis database ``offset`` places after the session's, so the session worker stays out."""
    base, index = redis_url.rsplit("/", 1)
    return {**env, "SLIMLINE_BROKER_URL": f"{base}/{(int(index) + offset - 1) % REDIS_DATABASES + 1}"}


def s3_settings_for(endpoint: str, bucket: str) -> dict[str, str]:
    """Create ``bucket`` on the S3 server at ``endpoint``; returns the settings that store blobs there."""
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


def cancel_queued_jobs(database_url: str) -> int:
    """Cancel every job still queued in the test database; returns how many.

    Tests without a worker (the in-process ``client``) leave their jobs queued in the session broker.
    The session's worker would otherwise run them all first (minutes of other tests' jobs) before the
    job of the test that started it.
    """
    from sqlalchemy import select

    from app.core.db import session_scope
    from app.core.models import Job
    from app.jobs.service import cancel_job
    from app.jobs.states import JobStatus

    with session_scope(database_url) as session:
        queued = session.execute(select(Job.id, Job.tenant_id).where(Job.status == JobStatus.queued.value)).all()
        for job_id, tenant_id in queued:
            cancel_job(session, tenant_id, job_id)
    return len(queued)


@contextmanager
def stopped_worker_class(database_url: str) -> Iterator[str]:
    """A hardware class whose only worker has stopped: known (no 422 at submit), so its jobs wait for it."""
    from app.core.db import session_scope
    from app.core.models import Worker
    from app.fleet import registry

    hardware_class, worker_id = f"cpu-gone-{secrets.token_hex(3)}", f"gone-{secrets.token_hex(3)}@nowhere"
    with session_scope(database_url) as session:
        registry.register(
            session, worker_id, host="nowhere", hardware_class=hardware_class, queues=["cpu"], concurrency=1,
            description={},
        )  # fmt: skip
        registry.stop(session, worker_id)
    try:
        yield hardware_class
    finally:
        with session_scope(database_url) as session:
            session.delete(session.get(Worker, worker_id))


class PrivateServer:
    """A Redis or Postgres server of one test's own, on a free port, that the test may stop and start.

    Tests that restart a service use one of these, never the machine's shared one: the suite runs in
    several processes at once (pytest-xdist), and the others' sessions live in the shared servers.
    """

    def __init__(self, start: list[str], stop: list[str], ready: list[str], url: str, user: str | None) -> None:
        self._start, self._stop, self._ready, self.url, self._user = start, stop, ready, url, user

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        return subprocess.run(prefix + argv, capture_output=True, check=check)

    def ready(self) -> bool:
        return self._run(self._ready, check=False).returncode == 0

    def start(self) -> None:
        self._run(self._start)
        deadline = time.monotonic() + 30
        while not self.ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self._start[0]} did not come up: {self._start}")
            time.sleep(0.1)

    def stop(self) -> None:
        self._run(self._stop, check=False)


@contextmanager
def private_redis() -> Iterator[PrivateServer]:
    """A redis-server without persistence on a free port; ``url`` is its database 1."""
    from tests.helpers.processes import free_port

    port = free_port()
    pidfile = Path(tempfile.mkdtemp(prefix="slimline-redis-")) / "redis.pid"
    server = PrivateServer(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--pidfile", str(pidfile), "--logfile", str(pidfile.with_suffix(".log"))],
        ["redis-cli", "-p", str(port), "shutdown", "nosave"],
        ["redis-cli", "-p", str(port), "ping"],
        f"redis://127.0.0.1:{port}/1",
        None,
    )  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(pidfile.parent, ignore_errors=True)


def _pg_bin(tool: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return str(versions[-1] / tool) if versions else tool


@contextmanager
def private_postgres() -> Iterator[PrivateServer]:
    """A Postgres cluster of its own (initdb, trust auth) on a free port, with the schema migrated.

    As root the cluster belongs to the ``postgres`` user (Postgres refuses to run as root).
    """
    from tests.helpers.processes import free_port

    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="slimline-pg-"))
    data = root / "data"
    if user:
        shutil.chown(root, user)
    port = free_port()
    init = subprocess.run(
        (["runuser", "-u", user, "--"] if user else [])
        + [_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        capture_output=True,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.decode()[-500:]}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    server = PrivateServer(
        [_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        [_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        [_pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        user,
    )
    server.start()
    try:
        from app.core.migrate import upgrade
        from app.core.settings import Settings

        upgrade(Settings(database_url=server.url, data_dir=Path("/nonexistent-slimline")))
        yield server
    finally:
        from app.core.db import get_engine

        get_engine(server.url).dispose()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
