"""A tenant lists and revokes its own API keys; revocation and expiry hold within the documented cache time.

Each test runs on Postgres and on SQLite (the embedded default's database).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.db import session_scope
from app.core.migrate import upgrade
from app.core.models import utcnow
from app.core.settings import Settings
from app.main import create_app
from app.tenants.keys import create_key, hash_key
from app.tenants.service import revoke_key
from tests.helpers import new_api_key

CACHE_S = 1.0


@pytest.fixture(params=["postgres", "sqlite"])
def db_settings(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Settings:
    """The session's settings (Postgres), or the same on a fresh SQLite database; keys cached for CACHE_S."""
    if request.param == "postgres":
        return settings.model_copy(update={"api_key_cache_s": CACHE_S})
    sqlite = settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'keys.db'}", "api_key_cache_s": CACHE_S}
    )
    upgrade(sqlite)
    return sqlite


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ids(client: TestClient, key: str) -> dict[str, str]:
    """prefix -> key id, from the caller's own listing."""
    listed = client.get("/v1/keys", headers=_auth(key))
    assert listed.status_code == 200, listed.text
    return {item["prefix"]: item["id"] for item in listed.json()["items"]}


def test_a_tenant_lists_its_own_keys_and_never_their_secrets(db_settings):
    tenant = f"keys-{secrets.token_hex(4)}"
    first, second = new_api_key(db_settings.database_url, tenant), new_api_key(db_settings.database_url, tenant)
    other = new_api_key(db_settings.database_url)
    with TestClient(create_app(db_settings), raise_server_exceptions=False) as client:
        listed = client.get("/v1/keys", headers=_auth(first))
        assert client.get("/v1/keys").status_code == 401
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [item["prefix"] for item in items] == [first[:8], second[:8]], "its two keys, oldest first"
    assert set(items[0]) == {"id", "name", "prefix", "created_at", "expires_at", "revoked_at"}
    assert all(item["id"].startswith("key_") and item["revoked_at"] is None for item in items)
    for secret in (first, second, hash_key(first), hash_key(second), other[:8]):
        assert secret not in listed.text


def test_revoking_a_key_and_the_key_in_use(db_settings):
    tenant = f"keys-{secrets.token_hex(4)}"
    first, second = new_api_key(db_settings.database_url, tenant), new_api_key(db_settings.database_url, tenant)
    other = new_api_key(db_settings.database_url)
    with TestClient(create_app(db_settings), raise_server_exceptions=False) as client:
        ids, other_id = _ids(client, first), _ids(client, other)[other[:8]]
        assert client.get("/v1/models", headers=_auth(second)).status_code == 200  # verified, now cached

        refused = client.delete(f"/v1/keys/{other_id}", headers=_auth(first))
        assert refused.status_code == 404 and refused.json()["code"] == "not_found", "another tenant's key"
        assert client.get("/v1/models", headers=_auth(other)).status_code == 200, "and it still works"
        assert client.delete("/v1/keys/key_nothing", headers=_auth(first)).status_code == 404

        revoked = client.delete(f"/v1/keys/{ids[second[:8]]}", headers=_auth(first))
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None and "key_sha256" not in revoked.json()
        again = client.delete(f"/v1/keys/{ids[second[:8]]}", headers=_auth(first))
        assert again.json()["revoked_at"] == revoked.json()["revoked_at"], "revoking twice changes nothing"
        gone = client.get("/v1/models", headers=_auth(second))
        assert gone.status_code == 401, "refused at once by the process that revoked it, cache or not"

        listed = client.get("/v1/keys", headers=_auth(first)).json()["items"]
        assert [item["revoked_at"] is not None for item in listed] == [False, True]

        own = client.delete(f"/v1/keys/{ids[first[:8]]}", headers=_auth(first))
        assert own.status_code == 200 and own.json()["revoked_at"] is not None, "revoking the key in use is allowed"
        assert client.get("/v1/keys", headers=_auth(first)).status_code == 401


def test_a_revocation_elsewhere_holds_within_the_cache_time(db_settings):
    """Revoked by the operator (or through another API process): this process's cache lapses within CACHE_S."""
    key = new_api_key(db_settings.database_url)
    with TestClient(create_app(db_settings), raise_server_exceptions=False) as client:
        key_id = _ids(client, key)[key[:8]]  # verified, now cached for CACHE_S
        verified_at = time.monotonic()
        with session_scope(db_settings.database_url) as session:
            revoke_key(session, key_id, tenant_id=None)
        time.sleep(max(0.0, verified_at + CACHE_S - time.monotonic()) + 0.05)
        response = client.get("/v1/models", headers=_auth(key))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_expired_keys_are_refused_even_when_cached(db_settings):
    long_cache = db_settings.model_copy(update={"api_key_cache_s": 60.0})
    with session_scope(db_settings.database_url) as session:
        tenant = f"keys-{secrets.token_hex(4)}"
        _, _, expired = create_key(session, tenant, name="old", expires_at=utcnow() - timedelta(seconds=1))
        _, soon_row, soon = create_key(session, tenant, name="ci", expires_at=utcnow() + timedelta(seconds=2))
        expires_at = soon_row.expires_at
    assert expires_at is not None
    with TestClient(create_app(long_cache), raise_server_exceptions=False) as client:
        response = client.get("/v1/models", headers=_auth(expired))
        assert response.status_code == 401 and "expired" in response.json()["detail"]
        listed = client.get("/v1/keys", headers=_auth(soon))
        assert listed.status_code == 200, "valid until its expiry (and cached up to then, not for 60 s)"
        assert [(i["name"], i["expires_at"] is not None) for i in listed.json()["items"]] == [
            ("old", True),
            ("ci", True),
        ]
        time.sleep(max(0.0, (expires_at - utcnow()).total_seconds()) + 0.05)
        response = client.get("/v1/models", headers=_auth(soon))
    assert response.status_code == 401 and "expired" in response.json()["detail"]
