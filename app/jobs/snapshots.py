"""Job snapshots: the exact document GET /v1/jobs/{id} returns, with its ETag, served from a cache.

Polling is the service's hottest path, and a job changes a few times a minute at most. The route
keeps the bytes it returned (body and ETag) under a tenant-scoped key; every commit that changes
what a client sees invalidates the job's snapshots, from any process (docs/architecture.md §3,
"Job snapshots"):

- Code that writes what a client sees of a job (``states.transition``, ``states.add_event``,
  ``lifecycle.record_progress``; jobs are never deleted) calls :func:`touch` inside the transaction;
  a SQLAlchemy ``after_commit`` hook then gives each touched job a new *generation* (a random token).
  A rolled-back transaction invalidates nothing.
- A snapshot is served only while the job's generation is the one read before its database read,
  so a read that raced a commit is never served after that commit's invalidation.

Two tiers (bound: docs/architecture.md §3):

- In process, always: a copy valid for ``LOCAL_TTL_S``, dropped at once by this process's own
  commits (a cancel), so commits of another process (the worker, another replica) are seen within
  ``LOCAL_TTL_S``. This is the only tier in SQLite embedded mode (or with any non-Redis broker).
- Redis, when the broker is ``redis://``: the shared copy behind it, invalid from the writer's
  commit on (the hook runs right after the commit), in any process. If Redis refuses an
  invalidation, a copy lives at most ``REDIS_TTL_S``; if Redis is down, reads go to the database.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

REDIS_TTL_S = 10  # a snapshot's life in Redis: the bound when an invalidation is lost
REDIS_GENERATION_TTL_S = 24 * 3600  # generations outlive every snapshot (tokens are random, never reused)
LOCAL_TTL_S = 0.25  # the in-process copy: how stale a read may be after another process's commit
LOCAL_MAX_ENTRIES = 10_000
_TOUCHED = "slimline.jobs_touched"
_SNAPSHOT_PREFIX, _GENERATION_PREFIX = "slimline:job-snapshot:", "slimline:job-generation:"


@dataclass(frozen=True)
class Snapshot:
    """What GET /v1/jobs/{id} answers: the JSON body (bytes) and its ETag (quoted)."""

    etag: str
    body: bytes


class SnapshotStore(Protocol):
    def peek(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        """Like :meth:`get` from this process's memory only (no I/O): the snapshot or None, and a generation."""
        ...

    async def get(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        """The valid snapshot (or None) and the job's current generation, to hand back to :meth:`put`."""
        ...

    async def put(self, tenant_id: str, job_id: str, generation: str, snapshot: Snapshot) -> None: ...

    def invalidate(self, job_ids: set[str]) -> None:
        """Give each job a new generation (called after a commit, from any thread)."""
        ...


class LocalStore:
    """Snapshots in this process, each valid for ``LOCAL_TTL_S`` and until this process touches the job."""

    def __init__(self, ttl_s: float = LOCAL_TTL_S, max_entries: int = LOCAL_MAX_ENTRIES) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._lock = threading.Lock()
        self._generations: OrderedDict[str, str] = OrderedDict()
        self._snapshots: OrderedDict[tuple[str, str], tuple[float, str, Snapshot]] = OrderedDict()

    async def get(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        return self.peek(tenant_id, job_id)

    def peek(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        generation = self._generations.get(job_id, "")
        entry = self._snapshots.get((tenant_id, job_id))
        if entry is not None and entry[0] > time.monotonic() and entry[1] == generation:
            return entry[2], generation
        return None, generation

    async def put(self, tenant_id: str, job_id: str, generation: str, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshots[(tenant_id, job_id)] = (time.monotonic() + self.ttl_s, generation, snapshot)
            self._snapshots.move_to_end((tenant_id, job_id))
            while len(self._snapshots) > self.max_entries:
                self._snapshots.popitem(last=False)

    def invalidate(self, job_ids: set[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._generations[job_id] = secrets.token_hex(8)
                self._generations.move_to_end(job_id)
            while len(self._generations) > self.max_entries:
                # Forgetting a generation is safe only once no snapshot can still carry it.
                oldest, _ = self._generations.popitem(last=False)
                for key in [k for k in self._snapshots if k[1] == oldest]:
                    del self._snapshots[key]


class RedisStore:
    """Snapshots and generations in Redis: shared by the API replicas, invalidated by every writer."""

    def __init__(self, url: str) -> None:
        import redis.asyncio  # noqa: F401 - loaded with the store, not by the first poll while others wait

        self.url = url
        self._sync: Any = None
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _async_client(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=0.5, socket_connect_timeout=0.5, max_connections=64
            )
        return client

    @staticmethod
    def _keys(tenant_id: str, job_id: str) -> tuple[str, str]:
        return f"{_SNAPSHOT_PREFIX}{tenant_id}:{job_id}", f"{_GENERATION_PREFIX}{job_id}"

    def peek(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        return None, ""  # nothing in this process's memory

    async def get(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        import redis

        snapshot_key, generation_key = self._keys(tenant_id, job_id)
        try:
            stored, generation = await self._async_client().mget(snapshot_key, generation_key)
        except (redis.RedisError, OSError) as exc:
            log.warning("job snapshots: Redis unreachable, reading the database (%s)", exc)
            return None, "unavailable"
        current = generation.decode() if generation else ""
        if stored:
            stored_generation, etag, body = stored.split(b"\n", 2)
            if stored_generation.decode() == current:
                return Snapshot(etag.decode(), body), current
        return None, current

    async def put(self, tenant_id: str, job_id: str, generation: str, snapshot: Snapshot) -> None:
        import redis

        if generation == "unavailable":
            return
        value = generation.encode() + b"\n" + snapshot.etag.encode() + b"\n" + snapshot.body
        try:
            await self._async_client().set(self._keys(tenant_id, job_id)[0], value, ex=REDIS_TTL_S)
        except (redis.RedisError, OSError) as exc:
            log.warning("job snapshots: could not store a snapshot (%s)", exc)

    def invalidate(self, job_ids: set[str]) -> None:
        import redis

        if self._sync is None:
            self._sync = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            pipe = self._sync.pipeline(transaction=False)
            for job_id in job_ids:
                pipe.set(self._keys("", job_id)[1], secrets.token_hex(8), ex=REDIS_GENERATION_TTL_S)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            # The snapshots still expire: a read is at most REDIS_TTL_S stale (docs/architecture.md §3).
            log.warning("job snapshots: could not invalidate %s (%s)", sorted(job_ids), exc)


class TieredStore:
    """A short-lived copy in this process in front of the shared store (Redis): most polls cost no I/O.

    The generation handed out is both tiers' (``local|shared``), so a read that raced a commit is
    kept by neither tier past that commit's invalidation.
    """

    def __init__(self, shared: RedisStore, local_ttl_s: float = LOCAL_TTL_S) -> None:
        self.local, self.shared = LocalStore(ttl_s=local_ttl_s), shared

    def peek(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        return self.local.peek(tenant_id, job_id)

    async def get(self, tenant_id: str, job_id: str) -> tuple[Snapshot | None, str]:
        snapshot, local_generation = self.local.peek(tenant_id, job_id)
        if snapshot is not None:
            return snapshot, local_generation + "|"
        snapshot, shared_generation = await self.shared.get(tenant_id, job_id)
        if snapshot is not None:
            await self.local.put(tenant_id, job_id, local_generation, snapshot)
        return snapshot, local_generation + "|" + shared_generation

    async def put(self, tenant_id: str, job_id: str, generation: str, snapshot: Snapshot) -> None:
        local_generation, _, shared_generation = generation.partition("|")
        await self.local.put(tenant_id, job_id, local_generation, snapshot)
        await self.shared.put(tenant_id, job_id, shared_generation, snapshot)

    def invalidate(self, job_ids: set[str]) -> None:
        self.local.invalidate(job_ids)
        self.shared.invalidate(job_ids)


_Pending = dict[tuple[str, str], tuple[str, "asyncio.Future[Any]"]]
_fetches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = weakref.WeakKeyDictionary()
_lookups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = weakref.WeakKeyDictionary()


async def _once(
    in_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending],
    key: tuple[str, str],
    seen: str,
    work: Callable[[], Awaitable[Any]],
) -> Any:
    """``work()``, or the result of the same work already in flight for ``key`` in this event loop.

    A caller that saw a newer generation (a commit in this process since) never waits for work begun before it.
    """
    loop = asyncio.get_running_loop()
    pending = in_flight.setdefault(loop, {})
    if (entry := pending.get(key)) is not None and entry[0] == seen:
        return await asyncio.shield(entry[1])
    future: asyncio.Future[Any] = loop.create_future()
    pending[key] = (seen, future)
    try:
        result = await work()
        future.set_result(result)
        return result
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
        raise
    finally:
        if pending.get(key, (None, None))[1] is future:
            del pending[key]


async def fetch(store: SnapshotStore, tenant_id: str, job_id: str, load: Callable[[], Awaitable[Snapshot]]) -> Snapshot:
    """The job's snapshot: from ``store``, else from ``load()`` (the database), kept for the next poll.

    One lookup per job at a time in this event loop: polls that miss together (when the in-process
    copy expires under load) wait for it instead of each reading Redis and the database.
    """
    snapshot, seen = store.peek(tenant_id, job_id)
    if snapshot is not None:
        return snapshot

    async def get_or_load() -> Snapshot:
        snapshot, generation = await store.get(tenant_id, job_id)
        if snapshot is None:
            snapshot = await load()
            await store.put(tenant_id, job_id, generation, snapshot)
        return snapshot

    result: Snapshot = await _once(_fetches, (tenant_id, job_id), seen, get_or_load)
    return result


async def cached(store: SnapshotStore, tenant_id: str, job_id: str) -> Snapshot | None:
    """The job's snapshot if ``store`` holds a valid one (this process's memory, else Redis), or None.

    Never reads the database; like :func:`fetch`, one Redis lookup per job at a time in this event loop.
    """
    snapshot, seen = store.peek(tenant_id, job_id)
    if snapshot is not None:
        return snapshot

    async def get() -> Snapshot | None:
        return (await store.get(tenant_id, job_id))[0]

    result: Snapshot | None = await _once(_lookups, (tenant_id, job_id), seen, get)
    return result


_stores_lock = threading.Lock()
_stores: dict[str, SnapshotStore] = {}  # by database URL: the rows the snapshots copy
_unmatched: set[str] = set()  # databases this process writes to but has no store for


@lru_cache(maxsize=64)
def _database_key(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def store_for(database_url: str, broker_url: str) -> SnapshotStore:
    """The process's snapshot store for this deployment: Redis when the broker is Redis, else in process."""
    key = _database_key(database_url)
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                redis_broker = broker_url.startswith(("redis://", "rediss://"))
                store = _stores[key] = TieredStore(RedisStore(broker_url)) if redis_broker else LocalStore()
                _unmatched.discard(key)
    return store


def touch(session: Session, job_id: str) -> None:
    """Mark ``job_id`` as changed by this transaction: its snapshots go stale when (and only if) it commits."""
    session.info.setdefault(_TOUCHED, set()).add(job_id)


def _store_of_writer(session: Session) -> SnapshotStore | None:
    bind = session.get_bind()
    key = _database_key(bind.engine.url.render_as_string(hide_password=False))
    store = _stores.get(key)
    if store is None and key not in _unmatched:
        # A worker (or a CLI) that never served a read: its settings name the deployment's broker.
        from app.core.settings import get_settings

        settings = get_settings()
        if _database_key(settings.database_url) == key:
            store = store_for(settings.database_url, settings.broker_url)
        else:
            _unmatched.add(key)
    return store


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    try:
        store = _store_of_writer(session)
        if store is not None:
            store.invalidate(touched)
    except Exception:  # noqa: BLE001 - the write is committed: a failed invalidation must not fail it (bound: TTLs)
        log.exception("job snapshots: could not invalidate %s", sorted(touched))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
