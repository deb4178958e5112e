"""optuna schema for tuning studies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:15:00

Optuna's RDB storage creates its own tables (and its own alembic_version) when a tuning job first
opens its study; on Postgres they live in this schema so they never meet ours. SQLite keeps them
in a sibling file (worker/study_storage.py).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS optuna")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS optuna CASCADE")
