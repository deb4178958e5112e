"""Blob storage: the protocol every backend implements, blob keys, and what the backends share.

Keys are built by the service from ids (``<tenant>/<kind>/<id>``); names from users never become
paths. Writes are atomic: data lands under a temporary name and is moved into place.
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from app.core.errors import InsufficientStorage, StorageError

CHUNK_BYTES = 1024 * 1024


class BlobStore(Protocol):
    def put_file(self, key: str, source: Path) -> None:
        """Store ``source`` under ``key`` atomically (the source may be moved away)."""

    def get_to_file(self, key: str, dest: Path) -> None:
        """Copy the blob to a local file."""

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """Stream the blob."""

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def delete_prefix(self, prefix: str) -> None: ...

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        """A time-limited direct download URL, or None when the backend has none (local files)."""


def write_failed(exc: OSError) -> InsufficientStorage | StorageError:
    """A failed blob write as the error a client sees: 507 when the disk or quota is full, else 503."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage("storage is full; nothing was stored")
    return StorageError(f"could not store the blob: {exc.strerror}")


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def stream_blob(store: BlobStore, key: str) -> Iterator[bytes]:
    """The blob's chunks, with the first one read now: a blob that cannot be read (or fails
    authentication when sealed) raises here, before a response has started, not mid-body."""
    chunks = store.iter_chunks(key)
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return itertools.chain([first], chunks)


def model_key(tenant_id: str, model_id: str) -> str:
    return f"{tenant_id}/models/{model_id}"


def dataset_key(tenant_id: str, dataset_id: str) -> str:
    return f"{tenant_id}/datasets/{dataset_id}"


def artifact_key(tenant_id: str, job_id: str, name: str) -> str:
    return f"{tenant_id}/jobs/{job_id}/{name}"
