"""HTTP pieces the routers share: the problem+json response doc, the ``redirect`` query, blob downloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from app.core.storage import BlobStore, stream_blob

PROBLEM: dict[str, Any] = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}
# A report served inline runs no script and loads nothing: it is shown in the API's origin, where a script
# could call the API with the viewer's credentials. `sandbox` gives it an opaque origin besides.
INLINE_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)
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
    """Stream a stored blob, or 307 to a presigned URL when asked and the store has one.

    HTML and images open in the browser (``inline``), under ``INLINE_CSP``; anything else is an attachment.
    """
    if redirect and (url := store.presigned_url(blob_key, filename=filename)):
        return RedirectResponse(url, status_code=307)
    headers = {
        "Content-Disposition": f'{disposition(media_type)}; filename="{filename}"',
        "Content-Length": str(size_bytes),
        "ETag": f'"{sha256}"',
        "X-Content-Type-Options": "nosniff",
    }
    if disposition(media_type) == "inline":
        headers["Content-Security-Policy"] = INLINE_CSP
    return StreamingResponse(stream_blob(store, blob_key), media_type=media_type, headers=headers)


def inline_document(body: bytes, *, filename: str, media_type: str) -> Response:
    """A document built on request (not a stored blob), with the headers ``blob_download`` gives a blob."""
    headers = {
        "Content-Disposition": f'{disposition(media_type)}; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    if disposition(media_type) == "inline":
        headers["Content-Security-Policy"] = INLINE_CSP
    return Response(body, media_type=media_type, headers=headers)


def disposition(media_type: str) -> str:
    """``inline`` for HTML and raster images (a report and its plots open in the browser), else ``attachment``.

    SVG is not inline: as a top-level document it can carry script, and it is never a stored artifact.
    """
    kind = media_type.split(";", 1)[0].strip().lower()
    inline = kind == "text/html" or (kind.startswith("image/") and kind != "image/svg+xml")
    return "inline" if inline else "attachment"
