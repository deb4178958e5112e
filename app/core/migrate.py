"""Alembic, driven from code: ``slimline db upgrade`` and the start-up schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.core.db import get_engine
from app.core.errors import ServiceUnavailable
from app.core.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class SchemaBehind(RuntimeError):
    pass


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(database_url: str) -> str | None:
    with get_engine(database_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_database_ready(settings: Settings) -> None:
    """Upgrade the embedded database; refuse to start against a server database that is behind."""
    if settings.should_auto_upgrade:
        upgrade(settings)
        return
    try:
        current = current_revision(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - report any driver error as "unreachable"
        raise ServiceUnavailable(f"cannot reach the database: {exc}") from exc
    head = head_revision()
    if current != head:
        raise SchemaBehind(
            f"the database schema is at {current or 'nothing'}, this build needs {head}: run `slimline db upgrade`"
        )
