"""Slow clients cannot starve others (issue 19): pool exhaustion is 503, upload slots come back.

The stalled sockets themselves are in tests/e2e/test_abuse_limits.py (a real server is needed to
hold a socket open); here the app runs in process on its own SQLite database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.db import get_engine, session_scope
from app.core.models import ApiKey, UploadSlot, utcnow
from app.main import create_app
from app.tenants.keys import hash_key
from tests.helpers import new_api_key, upload

POOL_TIMEOUT_S = 0.3


@pytest.fixture()
def embedded(settings, tmp_path):
    """``make(**limits)``: a client of an app on a SQLite database of its own, with these settings."""

    def make(**limits):
        update = {"database_url": f"sqlite:///{tmp_path / 'slimline.db'}", "db_pool_timeout_s": POOL_TIMEOUT_S}
        return TestClient(create_app(settings.model_copy(update={**update, **limits})), raise_server_exceptions=False)

    return make


def _new_tenant(client: TestClient) -> tuple[str, dict[str, str]]:
    url = client.app.state.settings.database_url
    key = new_api_key(url)
    with session_scope(url) as session:
        tenant_id = session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_sha256 == hash_key(key)))
    return tenant_id, {"Authorization": f"Bearer {key}"}


def _slots(client: TestClient, tenant_id: str) -> int:
    with session_scope(client.app.state.settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(UploadSlot).where(UploadSlot.tenant_id == tenant_id))


def test_pool_exhaustion_is_503_with_retry_after_then_recovers(embedded):
    with embedded() as client:
        _, auth = _new_tenant(client)
        engine = get_engine(client.app.state.settings.database_url, POOL_TIMEOUT_S)
        held = []
        try:
            with pytest.raises(PoolTimeout):
                for _ in range(100):
                    held.append(engine.connect())
            response = client.get("/v1/models", headers=auth)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "database_busy"
            assert int(response.headers["retry-after"]) >= 1
        finally:
            for connection in held:
                connection.close()
        assert client.get("/v1/models", headers=auth).status_code == 200


def test_a_failed_upload_gives_its_slot_back(embedded, mlp_bytes):
    with embedded(tenant_max_concurrent_uploads=1) as client:
        tenant_id, auth = _new_tenant(client)
        for _ in range(3):
            refused = upload(client, auth, "models", "m.onnx", b"not a model")
            assert refused.status_code == 422, refused.text
        assert _slots(client, tenant_id) == 0
        assert upload(client, auth, "models", "m.onnx", mlp_bytes).status_code == 201
        assert _slots(client, tenant_id) == 0


def test_a_crashed_uploads_slot_lapses(embedded, mlp_bytes):
    with embedded(tenant_max_concurrent_uploads=1) as client:
        tenant_id, auth = _new_tenant(client)
        url = client.app.state.settings.database_url
        # A request that died mid-body left its slot behind: it blocks until its lease runs out.
        with session_scope(url) as session:
            session.add(UploadSlot(tenant_id=tenant_id, expires_at=utcnow() + timedelta(seconds=60)))
        blocked = upload(client, auth, "models", "m.onnx", mlp_bytes)
        assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_uploads"
        assert int(blocked.headers["retry-after"]) >= 1
        with session_scope(url) as session:
            for slot in session.scalars(select(UploadSlot).where(UploadSlot.tenant_id == tenant_id)):
                slot.expires_at = utcnow() - timedelta(seconds=1)
        assert upload(client, auth, "models", "m.onnx", mlp_bytes).status_code == 201
        assert _slots(client, tenant_id) == 0


def test_refusals_before_the_body_close_the_connection(embedded):
    """The unread rest of a refused upload would tie up the socket: the answer says Connection: close."""
    with embedded(tenant_max_concurrent_uploads=1, max_upload_bytes=1024) as client:
        tenant_id, auth = _new_tenant(client)
        too_large = upload(client, auth, "models", "m.onnx", b"\0" * (128 * 1024))
        assert too_large.status_code == 413 and too_large.headers["connection"] == "close"
        with session_scope(client.app.state.settings.database_url) as session:
            session.add(UploadSlot(tenant_id=tenant_id, expires_at=utcnow() + timedelta(seconds=60)))
        busy = upload(client, auth, "models", "m.onnx", b"\0" * 16)
        assert busy.status_code == 429 and busy.headers["connection"] == "close"
