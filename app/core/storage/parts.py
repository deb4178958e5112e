"""Where the parts of a chunked upload live until it completes: blobs, or an S3 multipart upload.

Every backend stores a part under the upload's key and its number, and assembles the parts in order
into one local file (the service validates that file like a direct upload). On plain S3 the parts
are the parts of a real multipart upload; elsewhere (local files, a sealed store) each part is a blob.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import StorageError
from app.core.storage.base import CHUNK_BYTES, BlobStore

log = logging.getLogger("slimline.storage")
S3_MIN_PART_BYTES = 5 * 1024**2  # S3's floor for every part but the last


class PartStore(Protocol):
    min_part_bytes: int
    keeps_parts: bool  # whether the parts are still there after ``assemble`` (S3 consumes them)

    def begin(self, key: str) -> str:
        """Start storing parts under ``key``; returns the backend's token for them ("" when none)."""

    def put_part(self, key: str, token: str, number: int, source: Path) -> str:
        """Store part ``number`` (from 1) from a local file, replacing it; returns its tag (an S3 ETag)."""

    def assemble(self, key: str, token: str, parts: list[tuple[int, str]], dest: Path) -> None:
        """Write the parts ``[(number, tag)]``, in that order, into the local file ``dest``."""

    def abort(self, key: str, token: str) -> None:
        """Drop every stored part; nothing stored is not an error."""


class BlobPartStore:
    """Each part as a blob ``<key>/part-<number>`` of the tenant's store (local files, sealed stores)."""

    min_part_bytes = 1
    keeps_parts = True

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    @staticmethod
    def _part_key(key: str, number: int) -> str:
        return f"{key}/part-{number:05d}"

    def begin(self, key: str) -> str:
        return ""

    def put_part(self, key: str, token: str, number: int, source: Path) -> str:
        self.store.put_file(self._part_key(key, number), source)
        return ""

    def assemble(self, key: str, token: str, parts: list[tuple[int, str]], dest: Path) -> None:
        with dest.open("wb") as target:
            for number, _ in parts:
                for chunk in self.store.iter_chunks(self._part_key(key, number), CHUNK_BYTES):
                    target.write(chunk)

    def abort(self, key: str, token: str) -> None:
        self.store.delete_prefix(key)


class S3PartStore:
    """The parts of an S3 multipart upload; completing it writes one object, read back to validate."""

    min_part_bytes = S3_MIN_PART_BYTES
    keeps_parts = False

    def __init__(self, store: object) -> None:
        from app.core.storage.s3 import S3BlobStore

        assert isinstance(store, S3BlobStore)
        self.store = store
        self.client = store.client
        self.bucket = store.bucket

    def begin(self, key: str) -> str:
        try:
            answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.store._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not start the multipart upload in the bucket: {exc}") from exc
        return str(answer["UploadId"])

    def put_part(self, key: str, token: str, number: int, source: Path) -> str:
        try:
            with source.open("rb") as body:
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=self.store._key(key), UploadId=token, PartNumber=number, Body=body
                )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store part {number} in the bucket: {exc}") from exc
        source.unlink(missing_ok=True)
        return str(answer["ETag"])

    def assemble(self, key: str, token: str, parts: list[tuple[int, str]], dest: Path) -> None:
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.store._key(key),
                UploadId=token,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": tag} for n, tag in parts]},
            )
            self.store.get_to_file(key, dest)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not complete the multipart upload in the bucket: {exc}") from exc
        finally:
            self._delete(key)

    def abort(self, key: str, token: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.store._key(key), UploadId=token)
        except ClientError:
            log.info("multipart upload %s was already completed or aborted", token)
        self._delete(key)

    def _delete(self, key: str) -> None:
        # a leftover assembled object is harmless; a bucket lifecycle rule can expire it
        with contextlib.suppress(BotoCoreError, ClientError):
            self.store.delete(key)


def make_part_store(store: BlobStore) -> PartStore:
    """S3 multipart uploads on a plain S3 store, blobs on anything else (a sealed store encrypts each part)."""
    from app.core.storage.s3 import S3BlobStore

    if isinstance(store, S3BlobStore):
        return S3PartStore(store)
    return BlobPartStore(store)
