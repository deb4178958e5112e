"""Blobs sealed at rest with their tenant's data key (envelope encryption, see ``app.core.crypto``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import StorageError
from app.core.storage.base import CHUNK_BYTES, BlobStore, check_key, write_failed

if TYPE_CHECKING:
    from app.core.crypto import TenantKeyring


class EncryptedBlobStore:
    """Seals every blob with its tenant's data key (see ``app.core.crypto``) before the inner store sees it.

    The tenant is the first segment of the blob key. Presigned URLs are not offered: the bucket
    holds ciphertext, so downloads stream through the service, which decrypts them.
    """

    def __init__(self, inner: BlobStore, keyring: TenantKeyring, staging_dir: Path) -> None:
        self.inner = inner
        self.keyring = keyring
        self.staging_dir = staging_dir

    def _data_key(self, key: str) -> bytes:
        from app.core.crypto import BlobIntegrityError

        try:
            return self.keyring.data_key(check_key(key).split("/", 1)[0])
        except BlobIntegrityError as exc:
            raise StorageError(str(exc)) from exc

    def put_file(self, key: str, source: Path) -> None:
        from app.core.crypto import encrypt_path

        data_key = self._data_key(key)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        sealed = self.staging_dir / f".sealed-{uuid.uuid4().hex}"
        try:
            encrypt_path(data_key, key, source, sealed)
            source.unlink(missing_ok=True)  # no plaintext copy left behind
            self.inner.put_file(key, sealed)
        except OSError as exc:
            raise write_failed(exc) from exc
        finally:
            sealed.unlink(missing_ok=True)

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        from app.core.crypto import BlobIntegrityError, decrypt_stream

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
        from app.core.crypto import plaintext_size

        return plaintext_size(self.inner.size(key))

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_prefix(self, prefix: str) -> None:
        self.inner.delete_prefix(prefix)

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        return None
