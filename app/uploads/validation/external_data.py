"""ONNX models with external data, uploaded as a zip or tar archive: checked tensor by tensor, then repacked.

The archive is never extracted by its own names. Its ``.onnx`` member is parsed without external data;
every tensor that points outside it (in the main graph, subgraphs and functions) must name a regular
member of the archive by a relative path, and its offset and length must fit that member and match the
tensor's shape times its element size. Only then is the model repacked into the stored form
(app.core.safety.model_archive: ``model.onnx`` + one ``model.onnx.data``) that the worker unpacks.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import IO

import numpy as np
import onnx
from onnx import TensorProto, helper

from app.core.errors import InvalidModel, UnsafeModel
from app.core.safety import MalformedFile, RefusedFile
from app.core.safety.model_archive import (
    COPY_CHUNK_BYTES,
    DATA_NAME,
    MODEL_NAME,
    ArchiveKind,
    Member,
    open_member,
    pack,
    read_member,
    unsafe_name,
)
from app.uploads.validation.onnx_model import ModelInfo, all_tensors, describe

MAX_GRAPH_BYTES = 2 * 1024**3  # protobuf's limit: the .onnx member itself
DATA_ALIGNMENT_BYTES = 4096  # each tensor starts on a page in the repacked data file (mmap-friendly)


def has_onnx_member(members: dict[str, Member]) -> bool:
    return any(name.endswith(".onnx") for name in members)


def _external_fields(tensor: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _int_field(tensor: TensorProto, fields: dict[str, str], key: str) -> int | None:
    if key not in fields:
        return None
    try:
        value = int(fields[key])
    except ValueError:
        raise InvalidModel(f"tensor {tensor.name!r} has a non-numeric external data {key} {fields[key]!r}") from None
    if value < 0:
        raise InvalidModel(f"tensor {tensor.name!r} has a negative external data {key} ({value})")
    return value


def _expected_bytes(tensor: TensorProto) -> int:
    if tensor.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        raise InvalidModel(f"tensor {tensor.name!r}: external data of type {tensor.data_type} is not supported")
    try:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        raise InvalidModel(f"tensor {tensor.name!r} has an unknown data type {tensor.data_type}") from None
    elements = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
    if tensor.data_type in (TensorProto.INT4, TensorProto.UINT4):
        return (elements + 1) // 2
    return elements * itemsize


def external_tensors(
    model: onnx.ModelProto, model_dir: str, members: dict[str, Member]
) -> list[tuple[TensorProto, Member, int, int]]:
    """Every external tensor with the member holding it, its offset and length (bytes), all checked.

    Raises UnsafeModel for a location that leaves the archive or a link, InvalidModel for a missing or
    short data file or a length that does not match the tensor's shape and type; both name the tensor.
    """
    found = []
    for tensor in all_tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL and not tensor.external_data:
            continue
        fields = _external_fields(tensor)
        location = fields.get("location", "")
        if unsafe_name(location) or posixpath.isabs(location):
            raise UnsafeModel(
                f"tensor {tensor.name!r} points at external data {location!r} outside the archive; refused"
            )
        resolved = posixpath.normpath(posixpath.join(model_dir, location))
        member = members.get(resolved)
        if member is None:
            raise InvalidModel(f"tensor {tensor.name!r}: its data file {location!r} is missing from the archive")
        if member.link:
            raise UnsafeModel(f"tensor {tensor.name!r}: its data file {location!r} is a link; links are refused")
        expected = _expected_bytes(tensor)
        offset = _int_field(tensor, fields, "offset") or 0
        length = _int_field(tensor, fields, "length")
        if length is not None and length != expected:
            raise InvalidModel(
                f"tensor {tensor.name!r}: external data length {length} bytes does not match its shape "
                f"{list(tensor.dims)} and type ({expected} bytes)"
            )
        if offset + expected > member.size_bytes:
            raise InvalidModel(
                f"tensor {tensor.name!r}: data file {location!r} is too short ({member.size_bytes} bytes; the "
                f"tensor needs bytes {offset}..{offset + expected})"
            )
        found.append((tensor, member, offset, expected))
    return found


def inspect_archive(path: Path, kind: ArchiveKind, members: dict[str, Member], *, repack_to: Path) -> ModelInfo:
    """Validate an ONNX model with external data held in an archive and write its stored form to ``repack_to``."""
    onnx_members = [m for name, m in members.items() if name.endswith(".onnx")]
    if len(onnx_members) != 1:
        names = ", ".join(sorted(m.name for m in onnx_members))
        raise InvalidModel(f"the archive must hold exactly one .onnx file; it holds {len(onnx_members)} ({names})")
    graph_member = onnx_members[0]
    if graph_member.link:
        raise UnsafeModel(f"archive member {graph_member.name!r} is a link; links are refused")
    try:
        model = onnx.load_model_from_string(read_member(path, kind, graph_member, limit=MAX_GRAPH_BYTES))
    except RefusedFile as exc:
        raise InvalidModel(exc.message) from None
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for corrupt input
        raise InvalidModel(f"{graph_member.name!r} is not a valid ONNX model: {exc}") from None
    tensors = external_tensors(model, posixpath.dirname(graph_member.name), members)
    links = sorted(name for name, m in members.items() if m.link)
    if links:
        raise UnsafeModel(f"archive member {links[0]!r} is a link; links are refused")
    work = Path(tempfile.mkdtemp(prefix="repack-", dir=repack_to.parent))
    data_path, graph_path = work / DATA_NAME, work / MODEL_NAME
    try:
        cwd: str | None = os.getcwd()
    except FileNotFoundError:  # the isolated check's working directory is removed on purpose
        cwd = None
    try:
        _repack_data(path, kind, tensors, data_path)
        os.chdir(work)  # the checker looks for each tensor's data file, relative to the working directory
        info = describe(model)
        onnx.save_model(model, str(graph_path))
        pack(graph_path, data_path, repack_to)
    except MalformedFile as exc:
        repack_to.unlink(missing_ok=True)
        raise InvalidModel(exc.message) from None
    finally:
        if cwd is not None:
            os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    return ModelInfo(info.format, info.opset, info.inputs, info.outputs, info.parameter_count, info.warnings, True)


def _repack_data(
    path: Path, kind: ArchiveKind, tensors: list[tuple[TensorProto, Member, int, int]], data_path: Path
) -> None:
    """Copy each tensor's bytes into one data file and point the tensor at it (``model.onnx.data``)."""
    by_member: dict[str, list[tuple[TensorProto, int, int]]] = {}
    for tensor, member, offset, length in tensors:
        by_member.setdefault(member.name, []).append((tensor, offset, length))
    with data_path.open("wb") as target:
        for member_name, entries in by_member.items():
            with open_member(path, kind, member_name) as source:
                for tensor, offset, length in sorted(entries, key=lambda e: e[1]):
                    start = -(-target.tell() // DATA_ALIGNMENT_BYTES) * DATA_ALIGNMENT_BYTES
                    target.write(b"\0" * (start - target.tell()))
                    source.seek(offset)
                    _copy_exactly(source, target, length, tensor.name)
                    del tensor.external_data[:]
                    for key, value in (("location", DATA_NAME), ("offset", str(start)), ("length", str(length))):
                        entry = tensor.external_data.add()
                        entry.key, entry.value = key, value
                    tensor.data_location = TensorProto.EXTERNAL


def _copy_exactly(source: IO[bytes], target: IO[bytes], length: int, tensor_name: str) -> None:
    remaining = length
    while remaining:
        chunk = source.read(min(COPY_CHUNK_BYTES, remaining))
        if not chunk:
            raise MalformedFile(f"tensor {tensor_name!r}: its data file ends before the tensor's last byte")
        target.write(chunk)
        remaining -= len(chunk)
