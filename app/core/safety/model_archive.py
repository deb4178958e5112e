"""Model archives: an ONNX model with external data, as zip or tar, read member by member without extracting.

An uploaded archive is listed (names, sizes, link members) without trusting it: no member is written to
disk by its own name, links are reported rather than followed, and a member is read no further than its
declared size. What the service stores is its own normalized tar of two regular files, ``model.onnx``
and ``model.onnx.data`` (``pack``); the worker unpacks that into a job's directory (``unpack``).
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from app.core.safety.errors import MalformedFile, OversizedFile, UnsafeFile
from app.core.safety.zipsafe import MAX_MEMBERS, safe_members

MODEL_NAME = "model.onnx"
DATA_NAME = MODEL_NAME + ".data"
ARCHIVE_SUFFIX = ".tar"  # the blob key of a stored model archive ends with it
ZIP_MAGIC = b"PK\x03\x04"
COPY_CHUNK_BYTES = 1024 * 1024

ArchiveKind = Literal["zip", "tar"]


@dataclass(frozen=True)
class Member:
    """One archive member: its normalized name, declared size (bytes), and whether it is a link."""

    name: str
    size_bytes: int
    link: bool = False


def archive_kind(path: Path) -> ArchiveKind | None:
    """``tar`` or ``zip`` by the file's magic bytes (a zip may still be a torch.export archive), else None."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if head[:4] == ZIP_MAGIC:
        return "zip"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    return None


def unsafe_name(name: str) -> bool:
    """True for a member name or location that could leave the archive: absolute, ``..``, drive, NUL."""
    parts = name.replace("\\", "/").split("/")
    return not name or name.startswith(("/", "\\")) or ".." in parts or "\0" in name or ":" in name or "\\" in name


def list_members(path: Path, kind: ArchiveKind, *, max_total_bytes: int) -> dict[str, Member]:
    """The archive's file members by normalized name (directories left out; links kept, marked).

    Raises UnsafeFile for unsafe names or special files, OversizedFile when the members add up to more
    than ``max_total_bytes``, MalformedFile when the archive cannot be read.
    """
    if kind == "zip":
        infos = safe_members(path, max_uncompressed_bytes=max_total_bytes, error=UnsafeFile, too_large=OversizedFile)
        return {
            posixpath.normpath(i.filename): Member(
                posixpath.normpath(i.filename), i.file_size, link=(i.external_attr >> 16) & 0o170000 == 0o120000
            )
            for i in infos
            if not i.is_dir()
        }
    members: dict[str, Member] = {}
    total = 0
    try:
        with tarfile.open(path, "r:") as archive:
            for count, info in enumerate(archive):
                if count >= MAX_MEMBERS:
                    raise UnsafeFile(f"the archive has more than {MAX_MEMBERS} members")
                if unsafe_name(info.name):
                    raise UnsafeFile(f"archive member {info.name!r} has an unsafe path")
                name = posixpath.normpath(info.name)
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    members[name] = Member(name, 0, link=True)
                    continue
                if not info.isreg():
                    raise UnsafeFile(f"archive member {info.name!r} is not a regular file")
                total += info.size
                if total > max_total_bytes:
                    raise OversizedFile(f"the archive holds more than {max_total_bytes} bytes; refused")
                members[name] = Member(name, info.size)
    except tarfile.TarError as exc:
        raise MalformedFile(f"not a valid tar archive: {exc}") from None
    return members


@contextmanager
def open_member(path: Path, kind: ArchiveKind, name: str) -> Iterator[IO[bytes]]:
    """A regular member opened for reading (seekable); ``name`` must come from ``list_members``."""
    if kind == "zip":
        with zipfile.ZipFile(path) as zipped:
            zip_info = next(i for i in zipped.infolist() if posixpath.normpath(i.filename) == name)
            with zipped.open(zip_info) as zip_handle:
                yield zip_handle
        return
    with tarfile.open(path, "r:") as tarred:
        tar_info = next(i for i in tarred if posixpath.normpath(i.name) == name)
        tar_handle = tarred.extractfile(tar_info)
        if tar_handle is None:
            raise UnsafeFile(f"archive member {name!r} is not a regular file")
        with tar_handle:
            yield tar_handle


def read_member(path: Path, kind: ArchiveKind, member: Member, *, limit: int) -> bytes:
    """A whole member, refused above ``limit`` bytes and never read past its declared size."""
    if member.size_bytes > limit:
        raise OversizedFile(f"archive member {member.name!r} is larger than {limit} bytes")
    with open_member(path, kind, member.name) as handle:
        data = handle.read(member.size_bytes + 1)
    if len(data) != member.size_bytes:
        raise MalformedFile(f"archive member {member.name!r} does not hold the {member.size_bytes} bytes it declares")
    return data


def pack(model_path: Path, data_path: Path, out: Path) -> Path:
    """Write the stored form of a model with external data: a tar of ``model.onnx`` and ``model.onnx.data``."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(model_path, arcname=MODEL_NAME, recursive=False)
        archive.add(data_path, arcname=DATA_NAME, recursive=False)
    return out


def unpack(archive_path: Path, dest_dir: Path, *, max_total_bytes: int) -> Path:
    """Extract a stored model archive (``pack``'s output) into ``dest_dir``; returns the ``model.onnx`` path.

    Only the two expected regular files are written, under fixed names, each no larger than it declares.
    """
    members = list_members(archive_path, "tar", max_total_bytes=max_total_bytes)
    if set(members) != {MODEL_NAME, DATA_NAME} or any(m.link for m in members.values()):
        raise MalformedFile(f"a stored model archive holds exactly {MODEL_NAME} and {DATA_NAME}")
    for name in (MODEL_NAME, DATA_NAME):
        with open_member(archive_path, "tar", name) as source, (dest_dir / name).open("wb") as target:
            shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)
        if (dest_dir / name).stat().st_size != members[name].size_bytes:
            raise MalformedFile(f"archive member {name!r} is shorter than it declares")
    return dest_dir / MODEL_NAME
