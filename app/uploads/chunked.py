"""Chunked, resumable uploads: create, store parts (any order), complete into a model or dataset.

Part ``n`` (from 1) covers bytes ``[(n - 1) * part_size, n * part_size)`` of the file, so a part
either is the right range or overlaps another; parts live in the part store (app.core.storage.parts)
until completion assembles them into one staged file that goes through the same validation and
recording as a direct upload (app.uploads.service). An open upload expires
``chunked_upload_expiry_s`` after its last part; expired uploads answer 410 and their parts are
dropped when the tenant next creates an upload.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge, TooManyUploads
from app.core.ids import could_exist
from app.core.models import ChunkedUpload, ChunkedUploadPart, utcnow
from app.core.settings import Settings
from app.core.storage.parts import PartStore
from app.tenants.limits import acquire_upload_slot, check_storage_quota, release_upload_slot
from app.uploads.kinds import DATASETS, MODELS, UploadKind
from app.uploads.schemas import ChunkedUploadCreate

DEFAULT_PART_BYTES = 16 * 1024**2
ID_PREFIX = "upl"


class UploadExpired(DomainError):
    code, status, title = "upload_expired", 410, "Gone"


class PartConflict(Conflict):
    code = "part_conflict"


class PartInvalid(InvalidInput):
    code = "invalid_part"


def kind_of(upload: ChunkedUpload) -> UploadKind:  # type: ignore[type-arg]
    return MODELS if upload.kind == "model" else DATASETS


def part_count(upload: ChunkedUpload) -> int:
    return math.ceil(upload.size_bytes / upload.part_size_bytes)


def part_range(upload: ChunkedUpload, number: int) -> tuple[int, int]:
    """Bytes ``[start, end)`` of part ``number``."""
    start = (number - 1) * upload.part_size_bytes
    return start, min(start + upload.part_size_bytes, upload.size_bytes)


def max_size_bytes(kind: str, settings: Settings) -> int:
    """The largest file a chunked upload of ``kind`` may hold (a model with external data, or a dataset)."""
    return settings.max_model_bytes if kind == "model" else settings.max_dataset_uncompressed_bytes


def create(
    session: Session, parts: PartStore, settings: Settings, tenant_id: str, body: ChunkedUploadCreate
) -> ChunkedUpload:
    """Open a chunked upload: the tenant's upload rate, open uploads and storage quota are checked first."""
    limit = max_size_bytes(body.kind, settings)
    if body.size_bytes > limit:
        raise PayloadTooLarge(f"a {body.kind} may hold at most {limit} bytes; this one declares {body.size_bytes}")
    part_size = body.part_size_bytes or min(DEFAULT_PART_BYTES, settings.chunked_upload_max_part_bytes)
    if part_size > settings.chunked_upload_max_part_bytes or (
        part_size < parts.min_part_bytes and part_size < body.size_bytes
    ):
        raise InvalidInput(
            f"part_size_bytes must be between {parts.min_part_bytes} and {settings.chunked_upload_max_part_bytes}",
            errors=[{"field": "part_size_bytes", "message": "out of range for this storage backend"}],
        )
    slot = acquire_upload_slot(session, tenant_id, settings)  # the rate and concurrency limits of uploads
    release_upload_slot(session, slot)
    sweep_expired(session, parts, tenant_id)
    open_uploads = list(
        session.scalars(
            select(ChunkedUpload.size_bytes).where(ChunkedUpload.tenant_id == tenant_id, ChunkedUpload.status == "open")
        )
    )
    if len(open_uploads) >= settings.tenant_max_concurrent_uploads:
        raise TooManyUploads(
            f"{len(open_uploads)} chunked uploads of this tenant are open; the limit is "
            f"{settings.tenant_max_concurrent_uploads}. Complete or delete one first.",
            headers={"Retry-After": "30"},
        )
    check_storage_quota(session, tenant_id, settings, body.size_bytes + sum(open_uploads))
    upload_id = f"{ID_PREFIX}_{secrets.token_hex(12)}"
    key = f"{tenant_id}/uploads/{upload_id}"
    upload = ChunkedUpload(
        id=upload_id,
        tenant_id=tenant_id,
        kind=body.kind,
        filename=Path(body.filename).name or "upload",
        name=(body.name or body.filename).strip()[:255] or "upload",
        size_bytes=body.size_bytes,
        part_size_bytes=part_size,
        sha256=body.sha256,
        status="open",
        storage_key=key,
        storage_token=parts.begin(key),
        expires_at=utcnow() + timedelta(seconds=settings.chunked_upload_expiry_s),
    )
    session.add(upload)
    session.flush()
    return upload


def get_owned(session: Session, tenant_id: str, upload_id: str, *, lock: bool = False) -> ChunkedUpload:
    """The tenant's upload, or NotFound; an expired one is UploadExpired (410)."""
    stmt = select(ChunkedUpload).where(ChunkedUpload.id == upload_id, ChunkedUpload.tenant_id == tenant_id)
    if lock:
        stmt = stmt.with_for_update()
    upload = session.scalar(stmt) if could_exist(upload_id) else None
    if upload is None:
        raise NotFound(f"upload {upload_id!r} not found")
    if upload.status == "expired" or (upload.status == "open" and upload.expires_at < utcnow()):
        raise UploadExpired(
            f"upload {upload_id} expired at {upload.expires_at.isoformat()}; its parts are gone. Start a new upload."
        )
    return upload


def stored_parts(session: Session, upload_id: str) -> list[ChunkedUploadPart]:
    return list(
        session.scalars(
            select(ChunkedUploadPart).where(ChunkedUploadPart.upload_id == upload_id).order_by(ChunkedUploadPart.number)
        )
    )


def open_for_parts(session: Session, tenant_id: str, upload_id: str, number: int) -> tuple[ChunkedUpload, int]:
    """The open upload a part is for and the part's expected length; a part out of range is a 422."""
    upload = get_owned(session, tenant_id, upload_id)
    if upload.status != "open":
        raise Conflict(f"upload {upload_id} is {upload.status}; it takes no more parts")
    count = part_count(upload)
    if not 1 <= number <= count:
        raise PartInvalid(
            f"part {number} does not exist: the upload has parts 1..{count} of {upload.part_size_bytes} bytes",
            errors=[{"field": "part", "message": f"between 1 and {count}"}],
        )
    start, end = part_range(upload, number)
    return upload, end - start


def number_from_range(session: Session, tenant_id: str, upload_id: str, content_range: str) -> int:
    """The part a ``Content-Range: bytes a-b/total`` header stands for; a range off the part grid is a 409."""
    upload = get_owned(session, tenant_id, upload_id)
    start, end, total = parse_content_range(content_range)
    number = start // upload.part_size_bytes + 1
    expected = part_range(upload, number)
    if total not in (None, upload.size_bytes):
        raise PartInvalid(f"Content-Range says the file has {total} bytes; the upload declared {upload.size_bytes}")
    if (start, end + 1) != expected:
        raise PartConflict(
            f"bytes {start}-{end} overlap part {number} (bytes {expected[0]}-{expected[1] - 1}) without matching it; "
            f"send whole parts of {upload.part_size_bytes} bytes"
        )
    return number


def parse_content_range(value: str) -> tuple[int, int, int | None]:
    unit, _, spec = value.strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    if unit != "bytes" or not first.isdigit() or not last.isdigit() or int(last) < int(first):
        raise InvalidInput(f"Content-Range must read `bytes <first>-<last>/<total>`, not {value!r}")
    return int(first), int(last), int(total) if total.isdigit() else None


@dataclass
class ReceivedPart:
    path: Path
    size_bytes: int
    sha256: str


def store_part(
    session: Session,
    parts: PartStore,
    settings: Settings,
    *,
    tenant_id: str,
    upload_id: str,
    number: int,
    received: ReceivedPart,
    declared_sha256: str | None,
) -> ChunkedUploadPart:
    """Check a received part (length, checksum, same as a part already stored) and store it.

    A part sent again with the same bytes is stored once; with other bytes it is a 409 naming it.
    """
    upload, expected = open_for_parts(session, tenant_id, upload_id, number)
    if received.size_bytes != expected:
        raise PartInvalid(f"part {number} must hold {expected} bytes; {received.size_bytes} arrived")
    if declared_sha256 is not None and declared_sha256.lower() != received.sha256:
        raise PartInvalid(
            f"part {number}: checksum mismatch (its SHA-256 is {received.sha256}, the request said "
            f"{declared_sha256.lower()}); send the part again"
        )
    existing = session.get(ChunkedUploadPart, (upload_id, number))
    if existing is not None:
        if existing.sha256 != received.sha256:
            raise PartConflict(f"part {number} is already stored with other bytes (SHA-256 {existing.sha256})")
        return existing
    etag = parts.put_part(upload.storage_key, upload.storage_token, number, received.path)
    part = ChunkedUploadPart(
        upload_id=upload_id, number=number, size_bytes=received.size_bytes, sha256=received.sha256, etag=etag
    )
    session.add(part)
    upload.expires_at = utcnow() + timedelta(seconds=settings.chunked_upload_expiry_s)
    session.flush()
    return part


def ready_to_complete(session: Session, tenant_id: str, upload_id: str, sha256: str) -> ChunkedUpload:
    """The upload, checked for completion: every part stored, the SHA-256 the one declared (if any)."""
    upload = get_owned(session, tenant_id, upload_id)
    if upload.status == "completed":
        return upload
    if upload.sha256 is not None and upload.sha256 != sha256:
        raise InvalidInput(f"the upload was created with SHA-256 {upload.sha256}; completion says {sha256}")
    have = {p.number for p in stored_parts(session, upload_id)}
    missing = [n for n in range(1, part_count(upload) + 1) if n not in have]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        raise PartInvalid(
            f"parts {shown} are missing; send them before completing",
            errors=[{"field": "parts", "message": f"missing: {shown}"}],
        )
    return upload


def assemble(parts: PartStore, upload: ChunkedUpload, part_tags: list[tuple[int, str]], dest: Path, sha256: str) -> str:
    """Write the parts in order to ``dest`` and check the whole's SHA-256; returns it."""
    parts.assemble(upload.storage_key, upload.storage_token, part_tags, dest)
    digest = hashlib.sha256()
    with dest.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        dest.unlink(missing_ok=True)
        raise InvalidInput(
            f"checksum mismatch: the assembled {upload.size_bytes} bytes have SHA-256 {digest.hexdigest()}, "
            f"not {sha256}; check the parts (GET /v1/uploads/{upload.id}) and send the wrong ones again",
            errors=[{"field": "sha256", "message": "does not match the parts"}],
        )
    return digest.hexdigest()


def restart_parts(session: Session, parts: PartStore, upload_id: str) -> None:
    """After a failed assembly on a store that consumed the parts (S3): forget them and take parts anew."""
    upload = session.get(ChunkedUpload, upload_id)
    assert upload is not None
    parts.abort(upload.storage_key, upload.storage_token)
    upload.storage_token = parts.begin(upload.storage_key)
    session.query(ChunkedUploadPart).filter(ChunkedUploadPart.upload_id == upload_id).delete()
    session.flush()


def mark_completed(session: Session, upload_id: str, resource_id: str) -> None:
    upload = session.get(ChunkedUpload, upload_id)
    assert upload is not None
    upload.status, upload.resource_id = "completed", resource_id
    session.query(ChunkedUploadPart).filter(ChunkedUploadPart.upload_id == upload_id).delete()
    session.flush()


def delete(session: Session, parts: PartStore, tenant_id: str, upload_id: str) -> None:
    """Drop an open upload and its parts (a completed one only loses its record; its model stays)."""
    upload = get_owned(session, tenant_id, upload_id, lock=True)
    if upload.status == "open":
        parts.abort(upload.storage_key, upload.storage_token)
    session.delete(upload)
    session.flush()


def sweep_expired(session: Session, parts: PartStore, tenant_id: str | None = None) -> int:
    """Drop the parts of open uploads past their expiry (the tenant's, or everyone's); returns how many."""
    stmt = select(ChunkedUpload).where(ChunkedUpload.status == "open", ChunkedUpload.expires_at < utcnow())
    if tenant_id is not None:
        stmt = stmt.where(ChunkedUpload.tenant_id == tenant_id)
    expired = list(session.scalars(stmt.limit(100).with_for_update(skip_locked=True)))  # reapers run at once
    for upload in expired:
        parts.abort(upload.storage_key, upload.storage_token)
        upload.status = "expired"
        session.query(ChunkedUploadPart).filter(ChunkedUploadPart.upload_id == upload.id).delete()
    session.flush()
    return len(expired)
