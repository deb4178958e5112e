"""Blob storage: a small protocol and the local-directory backend.

Keys are built by the service from ids (``<tenant>/<kind>/<id>``); names from users never become
paths. Writes are atomic: data lands under a temporary name and is moved into place.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.crypto import TenantKeyring
    from app.settings import Settings

from app.errors import InsufficientStorage, StorageError

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


def _write_failed(exc: OSError) -> InsufficientStorage | StorageError:
    """A failed blob write as the error a client sees: 507 when the disk or quota is full, else 503."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage("storage is full; nothing was stored")
    return StorageError(f"could not store the blob: {exc.strerror}")


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_file(self, key: str, source: Path) -> None:
        dest = self._path(key)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, tmp)  # same filesystem: a rename, no copy
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _write_failed(exc) from exc

    def get_to_file(self, key: str, dest: Path) -> None:
        shutil.copyfile(self._path(key), dest)

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self._path(key).open("rb") as handle:
            while chunk := handle.read(chunk_bytes):
                yield chunk

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix.rstrip("/")), ignore_errors=True)

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        return None


class EncryptedBlobStore:
    """Seals every blob with its tenant's data key (see ``app.crypto``) before the inner store sees it.

    The tenant is the first segment of the blob key. Presigned URLs are not offered: the bucket
    holds ciphertext, so downloads stream through the service, which decrypts them.
    """

    def __init__(self, inner: BlobStore, keyring: TenantKeyring, staging_dir: Path) -> None:
        self.inner = inner
        self.keyring = keyring
        self.staging_dir = staging_dir

    def _data_key(self, key: str) -> bytes:
        from app.crypto import BlobIntegrityError

        try:
            return self.keyring.data_key(_check_key(key).split("/", 1)[0])
        except BlobIntegrityError as exc:
            raise StorageError(str(exc)) from exc

    def put_file(self, key: str, source: Path) -> None:
        from app.crypto import encrypt_path

        data_key = self._data_key(key)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        sealed = self.staging_dir / f".sealed-{uuid.uuid4().hex}"
        try:
            encrypt_path(data_key, key, source, sealed)
            source.unlink(missing_ok=True)  # no plaintext copy left behind
            self.inner.put_file(key, sealed)
        except OSError as exc:
            raise _write_failed(exc) from exc
        finally:
            sealed.unlink(missing_ok=True)

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        from app.crypto import BlobIntegrityError, decrypt_stream

        data_key = self._data_key(key)
        try:
            yield from decrypt_stream(data_key, key, self.inner.iter_chunks(key, chunk_bytes))
        except BlobIntegrityError as exc:
            raise StorageError(str(exc)) from exc

    def get_to_file(self, key: str, dest: Path) -> None:
        with dest.open("wb") as handle:
            for chunk in self.iter_chunks(key):
                handle.write(chunk)

    def size(self, key: str) -> int:
        from app.crypto import plaintext_size

        return plaintext_size(self.inner.size(key))

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        self.inner.delete_prefix(prefix)

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        return None


def _plain_store(settings: Settings) -> BlobStore:
    if settings.storage_url.startswith("file://"):
        return LocalBlobStore(Path(settings.storage_url.removeprefix("file://")))
    if settings.storage_url.startswith("s3://"):
        from app.storage_s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    raise ValueError(f"unsupported storage URL {settings.storage_url!r}")


def make_store(settings: Settings) -> BlobStore:
    """The blob store named by ``settings.storage_url``; sealed per tenant when a master key is set."""
    store = _plain_store(settings)
    master, previous = settings.master_keys
    if master is None:
        return store
    from app.crypto import TenantKeyring
    from app.services.tenants import load_wrapped_data_key, store_wrapped_data_key

    keyring = TenantKeyring(
        master,
        lambda tenant: load_wrapped_data_key(settings.database_url, tenant),
        lambda tenant, wrapped: store_wrapped_data_key(settings.database_url, tenant, wrapped),
        previous=previous,
    )
    return EncryptedBlobStore(store, keyring, settings.staging_dir)


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
