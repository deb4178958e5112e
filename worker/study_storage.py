"""Where a job's tuning study lives: the service's own database, beside (not inside) its tables.

Optuna keeps its own Alembic version table, so it must not share ours: on Postgres its tables go
into the ``optuna`` schema (created by migration 0004); on SQLite into a sibling file.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

OPTUNA_SCHEMA = "optuna"


def study_storage_url(database_url: str) -> str | None:
    """The SQLAlchemy URL for Optuna's RDB storage; None for an in-memory SQLite database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        options = f"{url.query.get('options', '')} -csearch_path={OPTUNA_SCHEMA}".strip()
        return url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        database = url.database
        stem, dot, suffix = database.rpartition(".")
        sibling = f"{stem}-optuna.{suffix}" if dot and "/" not in suffix else f"{database}-optuna"
        return url.set(database=sibling).render_as_string(hide_password=False)
    return None


def study_name(job_id: str) -> str:
    return f"slimline-{job_id}"
