"""A chunked upload nobody comes back to is cleaned by the worker's reaper, not only when its tenant returns."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.core.db import session_scope
from app.core.models import ChunkedUpload, utcnow

pytestmark = pytest.mark.e2e
PART = 1024


def test_the_reaper_drops_the_parts_of_an_expired_upload(http, auth, worker, settings):
    body = {"kind": "model", "filename": "m.onnx", "size_bytes": 3 * PART, "part_size_bytes": PART}
    upload = http.post("/v1/uploads", headers=auth, json=body).json()
    put = http.put(f"/v1/uploads/{upload['id']}/parts/1", headers=auth, content=b"\x01" * PART)
    assert put.status_code == 200, put.text
    with session_scope(settings.database_url) as session:
        key = session.get(ChunkedUpload, upload["id"]).storage_key
        assert (settings.storage_dir / key).is_dir()
        session.execute(
            update(ChunkedUpload).where(ChunkedUpload.id == upload["id"]).values(expires_at=utcnow() - timedelta(1))
        )
    deadline = time.monotonic() + 30  # the reaper runs every SLIMLINE_WORKER_HEARTBEAT_S (1 s in the tests)
    while (settings.storage_dir / key).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (settings.storage_dir / key).exists(), "the reaper left the expired upload's parts"
    with session_scope(settings.database_url) as session:
        assert session.get(ChunkedUpload, upload["id"]).status == "expired"
    gone = http.get(f"/v1/uploads/{upload['id']}", headers=auth)
    assert gone.status_code == 410 and gone.json()["code"] == "upload_expired"
