"""Upload validation: uploaded files are hostile until checked (DESIGN §5).

Pure functions over files on local disk. Nothing here unpickles, loads external data, or
decompresses a member before its declared size has been checked.
"""

from __future__ import annotations

from pathlib import Path

from app.core.safety.torch_archive import inspect_torch_archive
from app.uploads.validation.compat import check_compatible
from app.uploads.validation.npz import DatasetInfo, inspect_dataset
from app.uploads.validation.onnx_model import ModelInfo, inspect_onnx
from app.uploads.validation.recipe_fit import check_recipe_fits_model

__all__ = [
    "DatasetInfo",
    "ModelInfo",
    "check_compatible",
    "check_recipe_fits_model",
    "inspect_dataset",
    "inspect_model",
]

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARKS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def inspect_model(path: Path, *, filename: str) -> ModelInfo:
    """Validate an uploaded model by its content (not its name) and describe it.

    A zip is a torch.export ``.pt2`` archive; anything else must be an ONNX protobuf.
    Raises InvalidModel / UnsafeModel with a reason a user can act on.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == ZIP_MAGIC:
        return inspect_torch_archive(path)
    if head[:2] in PICKLE_PROTOCOL_MARKS:
        from app.core.errors import UnsafeModel

        raise UnsafeModel(
            f"{filename!r} is a Python pickle; pickled files are never loaded. "
            "Upload an ONNX model or a torch.export .pt2 archive (torch.export.save)."
        )
    return inspect_onnx(path)
