"""HTTP pieces the routers share: the problem+json response doc, the ``redirect`` query, blob downloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from app.core.storage import BlobStore, stream_blob

PROBLEM: dict[str, Any] = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}
RedirectQuery = Annotated[bool, Query(description="With S3 storage: answer 307 to a short-lived presigned URL.")]
BLOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    307: {"description": "Redirect to a presigned URL (`redirect=true` on S3 storage)"},
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting each status as a problem+json body."""
    return {status: PROBLEM for status in statuses}


def blob_download(
    store: BlobStore,
    blob_key: str,
    *,
    filename: str,
    media_type: str,
    size_bytes: int,
    sha256: str,
    redirect: bool,
) -> Response:
    """Stream a stored blob as an attachment, or 307 to a presigned URL when asked and the store has one."""
    if redirect and (url := store.presigned_url(blob_key, filename=filename)):
        return RedirectResponse(url, status_code=307)
    return StreamingResponse(
        stream_blob(store, blob_key),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size_bytes),
            "ETag": f'"{sha256}"',
        },
    )
