"""Upload validation: uploaded files are hostile until checked (docs/architecture.md §5).

Pure functions over files on local disk. Nothing here unpickles, loads external data, or
decompresses a member before its declared size has been checked.
"""

from __future__ import annotations

from pathlib import Path

from app.core.errors import InvalidModel, UnsafeModel
from app.core.safety import MalformedFile, RefusedFile
from app.core.safety.model_archive import archive_kind, list_members
from app.core.safety.torch_archive import inspect_torch_archive
from app.uploads.validation.compat import check_compatible
from app.uploads.validation.external_data import has_onnx_member, inspect_archive
from app.uploads.validation.npz import ArraySpec, DatasetInfo, inspect_dataset
from app.uploads.validation.onnx_model import ModelInfo, inspect_onnx
from app.uploads.validation.recipe_fit import check_recipe_fits_data, check_recipe_fits_model

__all__ = [
    "ArraySpec",
    "DatasetInfo",
    "ModelInfo",
    "check_compatible",
    "check_recipe_fits_data",
    "check_recipe_fits_model",
    "inspect_dataset",
    "inspect_model",
]

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARKS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def inspect_model(
    path: Path, *, filename: str, repack_to: Path | None = None, max_archive_bytes: int = 20 * 1024**3
) -> ModelInfo:
    """Validate an uploaded model by its content (not its name) and describe it.

    A tar, or a zip holding a ``.onnx`` member, is an ONNX model with its external data: checked, then
    repacked to ``repack_to`` (``ModelInfo.packed``); its members may add up to ``max_archive_bytes``.
    Another zip is a torch.export ``.pt2`` archive; anything else must be an ONNX protobuf.
    Raises InvalidModel / UnsafeModel with a reason a user can act on.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    kind = archive_kind(path)
    if kind is not None:
        try:
            members = list_members(path, kind, max_total_bytes=max_archive_bytes)
        except MalformedFile as exc:
            raise InvalidModel(exc.message) from None
        except RefusedFile as exc:
            raise UnsafeModel(exc.message) from None
        if kind == "tar" or has_onnx_member(members):
            if repack_to is None:
                raise InvalidModel("a model archive (an ONNX model with external data) is not accepted here")
            return inspect_archive(path, kind, members, repack_to=repack_to)
    if head == ZIP_MAGIC:
        return _inspect_torch_archive(path)
    if head[:2] in PICKLE_PROTOCOL_MARKS:
        raise UnsafeModel(
            f"{filename!r} is a Python pickle; pickled files are never loaded. "
            "Upload an ONNX model or a torch.export .pt2 archive (torch.export.save)."
        )
    return inspect_onnx(path)


def _inspect_torch_archive(path: Path) -> ModelInfo:
    """A torch.export archive, checked by app.core.safety; its refusals become InvalidModel / UnsafeModel."""
    try:
        signature = inspect_torch_archive(path)
    except MalformedFile as exc:
        raise InvalidModel(exc.message) from None
    except RefusedFile as exc:
        raise UnsafeModel(exc.message) from None
    return ModelInfo(
        "torch_export", None, signature.inputs, signature.outputs, signature.parameter_count, signature.warnings
    )
