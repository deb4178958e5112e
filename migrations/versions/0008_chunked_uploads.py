"""chunked, resumable uploads: uploads and their stored parts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chunked_uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("part_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("storage_token", sa.String(length=1024), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chunked_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chunked_uploads_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "chunked_upload_parts",
        sa.Column("upload_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["chunked_uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("chunked_upload_parts")
    with op.batch_alter_table("chunked_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunked_uploads_tenant_id"))
    op.drop_table("chunked_uploads")
