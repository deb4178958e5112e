"""Zip archives (.npz, .pt2) inspected from their central directory before anything is inflated."""

from __future__ import annotations

import zipfile
from pathlib import Path

from app.core.safety.errors import OversizedFile, UnsafeFile

MAX_MEMBERS = 4096
MAX_COMPRESSION_RATIO = 1000  # deflate cannot exceed ~1032:1; more means a crafted header


def safe_members(
    path: Path,
    *,
    max_uncompressed_bytes: int,
    error: type[Exception] = UnsafeFile,
    too_large: type[Exception] = OversizedFile,
) -> list[zipfile.ZipInfo]:
    """Open ``path`` as a zip and vet every member's name and declared sizes, without decompressing.

    ``error`` (built from a message) is raised for malformed or unsafe archives, ``too_large`` for archives
    that would expand beyond ``max_uncompressed_bytes`` (zip bombs).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise error(f"not a valid zip archive: {exc}") from None
    if len(members) > MAX_MEMBERS:
        raise error(f"the archive has {len(members)} members; at most {MAX_MEMBERS} are accepted")
    total = 0
    for info in members:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or "\0" in name or ":" in name:
            raise error(f"archive member {name!r} has an unsafe path")
        if info.flag_bits & 0x1:
            raise error(f"archive member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise error(f"archive member {name!r} uses an unsupported compression method")
        total += info.file_size
        if total > max_uncompressed_bytes:
            raise too_large(
                f"the archive expands to more than {max_uncompressed_bytes} bytes; refused before decompressing"
            )
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            and info.file_size > 1024**2
        ):
            raise too_large(
                f"archive member {name!r} declares a {info.file_size / info.compress_size:.0f}:1 compression ratio "
                "(a zip bomb?); refused"
            )
    return members


def read_member(path: Path, info: zipfile.ZipInfo, *, limit: int, error: type[Exception] = UnsafeFile) -> bytes:
    """Read one member, never more than its declared size (a lying header cannot inflate further)."""
    with zipfile.ZipFile(path) as archive, archive.open(info) as handle:
        data = handle.read(min(info.file_size, limit) + 1)
    if len(data) > info.file_size or len(data) > limit:
        raise error(f"archive member {info.filename!r} is larger than it declares")
    return data
