"""The two kinds of upload, models and datasets, as data: what differs between them, in one place.

Routes, service and job creation take an ``UploadKind`` (``MODELS`` or ``DATASETS``) instead of
branching on the ORM class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import InstrumentedAttribute

from app.core.models import Dataset, Job, Model
from app.core.safety.model_archive import ARCHIVE_SUFFIX
from app.core.schemas.common import ReadModel
from app.core.settings import Settings
from app.core.storage import dataset_key, model_key
from app.uploads.receive import StagedUpload
from app.uploads.schemas import DatasetRead, ModelRead
from app.uploads.validation.isolated import inspect_dataset, inspect_model

RowT = TypeVar("RowT", Model, Dataset)


@dataclass(frozen=True)
class UploadKind(Generic[RowT]):
    """One uploaded resource: its names, table, read schema, blob key, validation and download name."""

    name: str  # singular; also the id kind (``new_id(name)``) and part of operation ids
    plural: str  # the URL segment, tag and operation-id suffix of the list route
    orm: type[RowT]
    read_schema: type[ReadModel]
    file_help: str  # what the upload's ``file`` part must hold (OpenAPI)
    blob_key: Callable[[str, str], str]  # (tenant_id, row_id) -> blob key
    inspect: Callable[[StagedUpload, Settings], dict[str, Any]]  # validate; the kind's own columns
    download_name: Callable[[RowT], str]
    job_column: InstrumentedAttribute[str]  # the jobs column that references a row of this kind
    data_field: str | None = None  # form parts that may come with the file (a model's external data files)
    data_help: str = ""


def _model_columns(staged: StagedUpload, settings: Settings) -> dict[str, Any]:
    repacked = staged.path.with_name(staged.path.name + ARCHIVE_SUFFIX)
    try:
        info = inspect_model(
            staged.path, filename=staged.filename, repack_to=repacked, max_archive_bytes=settings.max_model_bytes
        )
    except BaseException:
        repacked.unlink(missing_ok=True)
        raise
    if info.packed:  # an archive with external data: what is stored is its normalized tar
        staged.replace_with(repacked, blob_suffix=ARCHIVE_SUFFIX)
    return {
        "format": info.format,
        "opset": info.opset,
        "inputs": [t.model_dump() for t in info.inputs],
        "outputs": [t.model_dump() for t in info.outputs],
        "parameter_count": info.parameter_count,
        "warnings": list(info.warnings),
    }


def _dataset_columns(staged: StagedUpload, settings: Settings) -> dict[str, Any]:
    info = inspect_dataset(staged.path, max_uncompressed_bytes=settings.max_dataset_uncompressed_bytes)
    return {
        "arrays": [t.model_dump() for t in info.arrays],
        "num_samples": info.num_samples,
        "has_labels": info.has_labels,
        "warnings": list(info.warnings),
    }


def _model_suffix(row: Model) -> str:
    if row.blob_key.endswith(ARCHIVE_SUFFIX):
        return ARCHIVE_SUFFIX
    return ".pt2" if row.format == "torch_export" else ".onnx"


MODELS: UploadKind[Model] = UploadKind(
    name="model",
    plural="models",
    orm=Model,
    read_schema=ModelRead,
    file_help="An ONNX model (.onnx), a zip or tar of an .onnx with its external data files, "
    "or a torch.export archive (.pt2).",
    blob_key=model_key,
    inspect=_model_columns,
    download_name=lambda row: f"{row.id}{_model_suffix(row)}",
    job_column=Job.model_id,
    data_field="data",
    data_help="External data files of the .onnx in `file`, one part each, the part's filename being the "
    "`location` the model's tensors name (e.g. `model.onnx.data`); the same as uploading a tar of them all.",
)
DATASETS: UploadKind[Dataset] = UploadKind(
    name="dataset",
    plural="datasets",
    orm=Dataset,
    read_schema=DatasetRead,
    file_help="An .npz with one array per model input (keyed by input name) and optional `labels`.",
    blob_key=dataset_key,
    inspect=_dataset_columns,
    download_name=lambda row: f"{row.id}.npz",
    job_column=Job.dataset_id,
)
