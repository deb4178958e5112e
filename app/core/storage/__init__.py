"""Blob storage: ``make_store`` picks the backend named by the settings (``base``, ``local``, ``s3``,
``sealed``); blob keys and streaming come from ``base``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.storage.base import (
    CHUNK_BYTES,
    BlobStore,
    artifact_key,
    dataset_key,
    model_key,
    stream_blob,
)
from app.core.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from app.core.settings import Settings

__all__ = [
    "CHUNK_BYTES",
    "BlobStore",
    "LocalBlobStore",
    "artifact_key",
    "dataset_key",
    "make_store",
    "model_key",
    "stream_blob",
]


def _plain_store(settings: Settings) -> BlobStore:
    if settings.storage_url.startswith("file://"):
        from pathlib import Path

        return LocalBlobStore(Path(settings.storage_url.removeprefix("file://")))
    if settings.storage_url.startswith("s3://"):
        from app.core.storage.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    raise ValueError(f"unsupported storage URL {settings.storage_url!r}")


def make_store(settings: Settings) -> BlobStore:
    """The blob store named by ``settings.storage_url``; sealed per tenant when a master key is set."""
    store = _plain_store(settings)
    master, previous = settings.master_keys
    if master is None:
        return store
    from app.core.crypto import TenantKeyring
    from app.core.storage.data_keys import load_wrapped_data_key, store_wrapped_data_key
    from app.core.storage.sealed import EncryptedBlobStore

    keyring = TenantKeyring(
        master,
        lambda tenant: load_wrapped_data_key(settings.database_url, tenant),
        lambda tenant, wrapped: store_wrapped_data_key(settings.database_url, tenant, wrapped),
        previous=previous,
    )
    return EncryptedBlobStore(store, keyring, settings.staging_dir)
