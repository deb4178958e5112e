"""Stream a multipart upload to a staging file: chunked, hashed while streaming, size-capped.

Starlette's ``request.form()`` would spool the whole body before our code runs; parsing the
stream ourselves lets us stop at the size cap and never hold the file in memory.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import os
import tarfile
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


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


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
        self.discard()
        self.path, self.size_bytes, self.sha256 = path, path.stat().st_size, sha256_of(path)
        self.blob_suffix = blob_suffix


class _Receiver:
    """Callbacks for python-multipart's streaming parser."""

    def __init__(self, staging_dir: Path, max_bytes: int, file_field: str, data_field: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.data_field = data_field
        self.staging_dir = staging_dir
        self.path = staging_dir / f"upload-{uuid.uuid4().hex}.part"
        self.data: list[tuple[str, Path]] = []  # (the part's file name, where it is staged), in order
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
        fields = [self.file_field, *([self.data_field] if self.data_field else []), *FORM_FIELDS]
        if self._part_name not in fields:
            what = "the file" if filename is not None else "a value"
            close = difflib.get_close_matches(self._part_name, fields, n=1)
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
        elif self._part_name == self.data_field:
            name = _data_file_name((filename or b"").decode("utf-8", "replace"), self.data_field, self.data)
            path = self.staging_dir / f"upload-{uuid.uuid4().hex}.data"
            self.data.append((name, path))
            self._is_file = True
            self.handle = path.open("wb")

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

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        for _, path in self.data:
            path.unlink(missing_ok=True)


def _data_file_name(name: str, field_name: str, seen: list[tuple[str, Path]]) -> str:
    """A data part's file name, as the model's external data ``location`` names it: a plain file name only."""
    problem = None
    if not name:
        problem = "has no file name (the model's tensors name their data file; send it as the part's filename)"
    elif "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        problem = f"file name {name!r} is not a plain file name (no folders, no '..')"
    elif any(name == other for other, _ in seen):
        problem = f"file name {name!r} is sent twice"
    if problem:
        raise InvalidInput(f"a `{field_name}` part {problem}", errors=[{"field": field_name, "message": problem}])
    return name


def _bundle(receiver: _Receiver, staging_dir: Path) -> tuple[Path, str, int, str]:
    """The model and its data parts as one tar (what an archive upload is): (path, file name, size, SHA-256)."""
    model_name = os.path.basename(receiver.filename or "")
    if not model_name.lower().endswith(".onnx"):
        raise InvalidInput(
            f"`{receiver.data_field}` parts hold an ONNX model's external data: the `{receiver.file_field}` part "
            f"must be the .onnx file (got {model_name or 'no file name'!r})",
            errors=[{"field": receiver.file_field, "message": "expected an .onnx file with `data` parts"}],
        )
    if any(name == model_name for name, _ in receiver.data):
        raise InvalidInput(f"a `{receiver.data_field}` part has the model's own file name {model_name!r}")
    bundle = staging_dir / f"upload-{uuid.uuid4().hex}.tar"
    with tarfile.open(bundle, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in [(model_name, receiver.path), *receiver.data]:
            tar.add(path, arcname=name, recursive=False)
    stem = model_name.removesuffix(".onnx").removesuffix(".ONNX")
    return bundle, stem + ".tar", bundle.stat().st_size, sha256_of(bundle)


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
    data_field: str | None = None,
    read_timeout_s: float | None = None,
    on_chunk: Callable[[], Awaitable[None]] | None = None,
) -> StagedUpload:
    """Read a ``multipart/form-data`` body into a staging file; raise a DomainError on any problem.

    With ``data_field``, any number of parts of that name may come with the file (an ONNX model's external
    data files, each named as the model's tensors locate it): the file and they are staged as one tar, the
    same upload as an archive of them. ``max_bytes`` caps all the files together.

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
    receiver = _Receiver(staging_dir, max_bytes, file_field, data_field)
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
        receiver.discard()
        raise InvalidInput(
            f"the body is not valid multipart/form-data: {exc}",
            errors=[{"field": "body", "message": "malformed multipart body"}],
        ) from None
    except BaseException:
        receiver.discard()
        raise
    receiver.close()
    if not receiver.seen_file:
        receiver.discard()
        raise InvalidInput(
            f"no `{file_field}` part in the form",
            errors=[{"field": file_field, "message": "required"}],
        )
    if receiver.data:
        try:
            bundle, filename, size, sha256 = await anyio.to_thread.run_sync(_bundle, receiver, staging_dir)
        finally:
            receiver.discard()
        return StagedUpload(bundle, filename, size, sha256, receiver.fields)
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
