"""Stream a multipart upload to a staging file: chunked, hashed while streaming, size-capped.

Starlette's ``request.form()`` would spool the whole body before our code runs; parsing the
stream ourselves lets us stop at the size cap and never hold the file in memory.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.core.errors import (
    BodyTimeout,
    InsufficientStorage,
    InvalidInput,
    PayloadTooLarge,
    StorageError,
    UnsupportedMediaType,
)

MAX_FIELD_BYTES = 4096
FORM_FIELDS = ("name",)  # the form's fields besides the file
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@dataclass
class StagedUpload:
    """The uploaded file on local disk, plus the form's text fields. Delete ``path`` when done."""

    path: Path
    filename: str
    size_bytes: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)
    blob_suffix: str = ""  # appended to the blob key: ".tar" for a model archive

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def replace_with(self, path: Path, *, blob_suffix: str) -> None:
        """Stand for ``path`` instead (validation's normalized form of the upload); the original is removed."""
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        self.discard()
        self.path, self.size_bytes, self.sha256 = path, path.stat().st_size, digest.hexdigest()
        self.blob_suffix = blob_suffix


class _Receiver:
    """Callbacks for python-multipart's streaming parser."""

    def __init__(self, staging_dir: Path, max_bytes: int, file_field: str) -> None:
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.path = staging_dir / f"upload-{uuid.uuid4().hex}.part"
        self.handle: BinaryIO | None = None
        self.hasher = hashlib.sha256()
        self.size = 0
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._part_name: str | None = None
        self._is_file = False
        self._field_buffer = bytearray()
        self.too_large = False
        self.seen_file = False
        self.ended = False

    def on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = None
        self._is_file = False
        self._field_buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part_name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self._part_name not in (self.file_field, *FORM_FIELDS):
            what = "the file" if filename is not None else "a value"
            close = difflib.get_close_matches(self._part_name, [self.file_field, *FORM_FIELDS], n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise InvalidInput(
                f"unknown form field `{self._part_name}` ({what}): send the file as `{self.file_field}` "
                f"and optionally a display `name`{hint}",
                errors=[{"field": self._part_name, "message": f"unknown field; expected `{self.file_field}`{hint}"}],
            )
        if self._part_name == self.file_field:
            if self.seen_file:
                raise InvalidInput(f"only one `{self.file_field}` part is accepted")
            self.seen_file = True
            self._is_file = True
            self.filename = (filename or b"").decode("utf-8", "replace")
            self.handle = self.path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            assert self.handle is not None
            self.size += len(chunk)
            if self.size > self.max_bytes:
                self.too_large = True
                raise PayloadTooLarge(f"the file exceeds the upload limit of {self.max_bytes} bytes")
            self.hasher.update(chunk)
            try:
                self.handle.write(chunk)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise InsufficientStorage("the server's staging disk is full; nothing was stored") from exc
                raise StorageError(f"could not stage the upload: {exc.strerror}") from exc
        else:
            self._field_buffer += chunk
            if len(self._field_buffer) > MAX_FIELD_BYTES:
                raise InvalidInput(f"form field `{self._part_name}` is longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self._is_file and self.handle is not None:
            self.handle.close()
            self.handle = None
        elif self._part_name:
            self.fields[self._part_name] = self._field_buffer.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


async def _chunks(request: Request, read_timeout_s: float | None) -> AsyncIterator[bytes]:
    """The body's chunks; BodyTimeout (408) when the client sends nothing for ``read_timeout_s`` seconds."""
    stream = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(read_timeout_s):
                chunk = await stream.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyTimeout(
                f"the client sent nothing for {read_timeout_s:g} s; the upload was dropped",
                headers={"Connection": "close"},
            ) from None
        yield chunk


async def receive_upload(
    request: Request,
    *,
    staging_dir: Path,
    max_bytes: int,
    file_field: str = "file",
    read_timeout_s: float | None = None,
    on_chunk: Callable[[], Awaitable[None]] | None = None,
) -> StagedUpload:
    """Read a ``multipart/form-data`` body into a staging file; raise a DomainError on any problem.

    A body that is not well-formed multipart (garbage, a boundary that never appears, a body cut off
    before the closing boundary) is an InvalidInput (422), never a partial upload. A client that
    sends nothing for ``read_timeout_s`` seconds gets a BodyTimeout (408). ``on_chunk`` is awaited
    after each chunk (the caller renews its upload slot there).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UnsupportedMediaType("send the file as multipart/form-data with a `file` part")
    boundary = options[b"boundary"]
    if not 1 <= len(boundary) <= 70 or not boundary.isascii() or not boundary.strip():
        raise InvalidInput(
            "the multipart boundary must be 1 to 70 ASCII characters (RFC 2046)",
            errors=[{"field": "content-type", "message": "invalid boundary"}],
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the request is {declared} bytes; the upload limit is {max_bytes} bytes")
    staging_dir.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(staging_dir, max_bytes, file_field)
    parser = MultipartParser(
        boundary,
        callbacks={  # type: ignore[arg-type]
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_end": receiver.on_end,
        },
    )
    try:
        async for chunk in _chunks(request, read_timeout_s):
            if chunk:
                await anyio.to_thread.run_sync(parser.write, chunk)
            if on_chunk is not None:
                await on_chunk()
        parser.finalize()
        if not receiver.ended:
            raise InvalidInput(
                "the multipart body is incomplete: it ends before the closing boundary (a truncated upload?)",
                errors=[{"field": "body", "message": "truncated multipart body"}],
            )
    except MultipartParseError as exc:
        receiver.close()
        receiver.path.unlink(missing_ok=True)
        raise InvalidInput(
            f"the body is not valid multipart/form-data: {exc}",
            errors=[{"field": "body", "message": "malformed multipart body"}],
        ) from None
    except BaseException:
        receiver.close()
        receiver.path.unlink(missing_ok=True)
        raise
    receiver.close()
    if not receiver.seen_file:
        receiver.path.unlink(missing_ok=True)
        raise InvalidInput(
            f"no `{file_field}` part in the form",
            errors=[{"field": file_field, "message": "required"}],
        )
    filename = os.path.basename(receiver.filename or "upload")
    return StagedUpload(receiver.path, filename, receiver.size, receiver.hasher.hexdigest(), receiver.fields)


async def receive_body(
    request: Request, *, staging_dir: Path, max_bytes: int, read_timeout_s: float | None = None
) -> tuple[Path, int, str]:
    """Stream a raw request body (a chunked upload's part) to a staging file: (path, size in bytes, SHA-256).

    More than ``max_bytes`` is a PayloadTooLarge (413) as soon as it arrives; nothing is kept on any error.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the body is {declared} bytes; at most {max_bytes} are expected here")
    staging_dir.mkdir(parents=True, exist_ok=True)
    path = staging_dir / f"part-{uuid.uuid4().hex}.part"
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as handle:
            async for chunk in _chunks(request, read_timeout_s):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"the body exceeds the {max_bytes} bytes expected here")
                hasher.update(chunk)
                await anyio.to_thread.run_sync(handle.write, chunk)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage("the server's staging disk is full; nothing was stored") from exc
        raise StorageError(f"could not stage the part: {exc.strerror}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, hasher.hexdigest()
