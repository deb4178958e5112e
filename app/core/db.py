"""Engine and session factory (sync SQLAlchemy 2; psycopg 3 on Postgres, SQLite embedded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=1)
def _configured_pool_timeout_s() -> float:
    from app.core.settings import get_settings

    return get_settings().db_pool_timeout_s


def _pool_timeout(pool_timeout_s: float | None) -> float:
    """The wait for a free pooled connection: as given, else SLIMLINE_DB_POOL_TIMEOUT_S (read once)."""
    return _configured_pool_timeout_s() if pool_timeout_s is None else pool_timeout_s


def make_engine(database_url: str, pool_timeout_s: float | None = None) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout because the API and the worker share it.

    A request that waits longer than the pool timeout for a connection fails with SQLAlchemy's
    TimeoutError, which the API answers with 503 and Retry-After (app.main).
    """
    timeout_s = _pool_timeout(pool_timeout_s)
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_pre_ping=True,
            pool_timeout=timeout_s,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=timeout_s)


def get_engine(database_url: str, pool_timeout_s: float | None = None) -> Engine:
    """The process's engine for this URL and pool timeout (one pool per pair)."""
    return _engine(database_url, _pool_timeout(pool_timeout_s))


@lru_cache(maxsize=8)
def _engine(database_url: str, pool_timeout_s: float) -> Engine:
    return make_engine(database_url, pool_timeout_s)


def session_factory(database_url: str, pool_timeout_s: float | None = None) -> sessionmaker[Session]:
    return _session_factory(database_url, _pool_timeout(pool_timeout_s))


@lru_cache(maxsize=8)
def _session_factory(database_url: str, pool_timeout_s: float) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(database_url, pool_timeout_s), expire_on_commit=False)


READ_CONCURRENCY = 8


def get_read_engine(database_url: str, pool_timeout_s: float | None = None) -> Engine:
    """Engine for single-statement reads on hot paths (job polling).

    Autocommit, so a read costs one round trip (no BEGIN, no ROLLBACK), and no pre-ping (another
    round trip per checkout): ``read_one`` retries once on a connection that died since its last use.
    """
    return _read_engine(database_url, _pool_timeout(pool_timeout_s))


@lru_cache(maxsize=8)
def _read_engine(database_url: str, pool_timeout_s: float) -> Engine:
    if database_url.startswith("sqlite"):
        return get_engine(database_url, pool_timeout_s)
    # Callers run at most READ_CONCURRENCY reads at once (app.jobs.endpoints), so the pool never opens and
    # closes overflow connections under load (a new Postgres connection costs milliseconds).
    return create_engine(
        database_url,
        isolation_level="AUTOCOMMIT",
        pool_size=READ_CONCURRENCY,
        max_overflow=4,
        pool_timeout=pool_timeout_s,
    )


def read_one(database_url: str, statement: Executable) -> Row[Any] | None:
    """Run one read statement on the read engine; at most one row comes back.

    After a database restart every pooled connection is dead: the first use fails with the
    connection invalidated (SQLAlchemy then drops the whole pool), and the retry connects afresh.
    """
    for attempt in (1, 2):
        try:
            with get_read_engine(database_url).connect() as connection:
                return connection.execute(statement).one_or_none()
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    session = session_factory(database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
