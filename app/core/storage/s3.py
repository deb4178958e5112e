"""S3-compatible blob store (AWS, MinIO, Ceph…) with boto3.

Uploads go up as multipart uploads under a temporary key and are committed by a server-side copy,
so a reader never sees a partial object; downloads stream; large files can be fetched directly
with a presigned URL.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import StorageError
from app.core.settings import Settings
from app.core.storage.base import CHUNK_BYTES, check_key


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, prefix: str, *, chunk_bytes: int, presign_expiry_s: int) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.transfer = TransferConfig(
            multipart_threshold=chunk_bytes, multipart_chunksize=chunk_bytes, max_concurrency=4, use_threads=True
        )
        self.presign_expiry_s = presign_expiry_s

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        bucket, _, prefix = settings.storage_url.removeprefix("s3://").partition("/")
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret,
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": "path"},
            ),
        )
        return cls(
            client,
            bucket,
            prefix,
            chunk_bytes=settings.s3_multipart_chunk_bytes,
            presign_expiry_s=settings.s3_presign_expiry_s,
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, source: Path) -> None:
        final = self._key(key)
        tmp = self._key(f".tmp/{uuid.uuid4().hex}")
        try:
            self.client.upload_file(str(source), self.bucket, tmp, Config=self.transfer)
            self.client.copy({"Bucket": self.bucket, "Key": tmp}, self.bucket, final, Config=self.transfer)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store the blob in the bucket: {exc}") from exc
        finally:
            # a leftover .tmp object is harmless; a bucket lifecycle rule can expire them
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.delete_object(Bucket=self.bucket, Key=tmp)
        source.unlink(missing_ok=True)

    def get_to_file(self, key: str, dest: Path) -> None:
        try:
            self.client.download_file(self.bucket, self._key(key), str(dest), Config=self.transfer)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not read the blob from the bucket: {exc}") from exc

    def iter_chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/")) + "/"):
            objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})

    def presigned_url(self, key: str, *, filename: str) -> str | None:
        return str(
            self.client.generate_presigned_url(
                "get_object",
                ExpiresIn=self.presign_expiry_s,
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
            )
        )
