"""Settings: embedded defaults, SLIMLINE_* variables, loud failures on bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.core.settings import SettingsError, load_settings


def test_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SLIMLINE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///") and str(tmp_path) in settings.database_url
    assert settings.broker_url.startswith("sqla+sqlite:///")
    assert settings.storage_url == (tmp_path / "blobs").as_uri()
    assert settings.should_auto_upgrade


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLIMLINE_DATABASE_URL", "mysql://x", "SLIMLINE_DATABASE_URL"),
        ("SLIMLINE_BROKER_URL", "kafka://x", "SLIMLINE_BROKER_URL"),
        ("SLIMLINE_MAX_UPLOAD_BYTES", "-1", "SLIMLINE_MAX_UPLOAD_BYTES"),
        ("SLIMLINE_JOB_MAX_ATTEMPTS", "many", "SLIMLINE_JOB_MAX_ATTEMPTS"),
        ("SLIMLINE_BOOTSTRAP_API_KEY", "short", "SLIMLINE_BOOTSTRAP_API_KEY"),
        ("SLIMLINE_JOB_STALE_AFTER_S", "1", "twice SLIMLINE_JOB_HEARTBEAT_S"),
    ],
)
def test_bad_values_fail_with_the_variable_named(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert message in str(info.value)


def test_cli_refuses_to_start_with_bad_settings(tmp_path):
    env = {"SLIMLINE_DATA_DIR": str(tmp_path), "SLIMLINE_DATABASE_URL": "oracle://nope", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "SLIMLINE_DATABASE_URL" in result.stderr


def test_server_refuses_a_database_behind_head(pg_url, tmp_path):
    import psycopg

    from app.core.migrate import SchemaBehind, ensure_database_ready
    from app.core.settings import Settings

    name = "slimline_behind_" + tmp_path.name[-8:].replace("-", "_")
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = Settings(data_dir=tmp_path, database_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        with pytest.raises(SchemaBehind, match="slimline db upgrade"):
            ensure_database_ready(settings)
    finally:
        from app.core.db import get_engine

        get_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}").dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
