"""The real services the tests use: a Postgres admin connection, Redis databases, API keys, an S3 bucket."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

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
