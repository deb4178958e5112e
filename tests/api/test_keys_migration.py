"""Migration 0005 (key names and expiry, room for sealed webhook secrets) up and down, on Postgres and SQLite."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, text

from app.core.db import get_engine, session_scope
from app.core.migrate import alembic_config, current_revision, head_revision
from app.core.settings import Settings
from app.tenants.keys import authenticate, hash_key
from app.webhooks.service import ensure_secret, seal_plaintext_secrets
from tests.helpers import pg_admin


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"slimline_migrate_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    get_engine(url).dispose()
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _columns(url: str, table: str) -> set[str]:
    with get_engine(url).connect() as conn:
        return {column["name"] for column in inspect(conn).get_columns(table)}


def test_upgrade_keeps_keys_and_secrets_and_downgrade_clears_only_sealed_secrets(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "0004")
    key = "sk_migration-test-key-0123456789abcdef"
    long_secret = "whsec_" + "x" * 90  # fits the old 128 characters; sealed, it needs the new 255
    with get_engine(database_url).begin() as conn:
        for tenant, secret in (("ten_plain", "whsec_plain"), ("ten_sealed", long_secret)):
            conn.execute(
                text("INSERT INTO tenants (id, name, webhook_secret, created_at) VALUES (:id, :id, :s, :at)"),
                {"id": tenant, "s": secret, "at": "2026-12-01T00:00:00+00:00"},
            )
        conn.execute(
            text(
                "INSERT INTO api_keys (id, tenant_id, key_sha256, prefix, created_at) "
                "VALUES ('key_old', 'ten_plain', :h, 'sk_migra', '2026-12-01T00:00:00+00:00')"
            ),
            {"h": hash_key(key)},
        )
    get_engine(database_url).dispose()

    command.upgrade(config, "head")
    assert current_revision(database_url) == head_revision()
    assert {"name", "expires_at"} <= _columns(database_url, "api_keys")
    with session_scope(database_url) as session:
        assert authenticate(session, key, cache_s=0).id == "ten_plain", "keys from before still work, no expiry"
        keys = Settings(encryption_key=base64.b64encode(os.urandom(32)).decode()).master_keys
        assert ensure_secret(session, "ten_sealed", keys) == long_secret  # sealed on this read
        assert seal_plaintext_secrets(session, (None, None)) == 0, "without a key nothing is sealed"
    with get_engine(database_url).connect() as conn:
        stored = dict(conn.execute(text("SELECT id, webhook_secret FROM tenants")).all())
    assert stored["ten_plain"] == "whsec_plain" and stored["ten_sealed"].startswith("sealed:v1:")
    assert len(stored["ten_sealed"]) > 128, "the widened column holds it"
    get_engine(database_url).dispose()

    command.downgrade(config, "0004")
    assert not {"name", "expires_at"} & _columns(database_url, "api_keys")
    with get_engine(database_url).connect() as conn:
        stored = dict(conn.execute(text("SELECT id, webhook_secret FROM tenants")).all())
    assert stored == {"ten_plain": "whsec_plain", "ten_sealed": None}, "a sealed secret cannot be opened there"
    get_engine(database_url).dispose()
    command.upgrade(config, "head")
    assert current_revision(database_url) == head_revision()
