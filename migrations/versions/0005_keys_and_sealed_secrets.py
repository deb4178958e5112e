"""key names and expiry; room for sealed webhook secrets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:10:00

``tenants.webhook_secret`` grows to 255 characters: with SLIMLINE_ENCRYPTION_KEY set it holds the secret
sealed with the tenant's data key (``sealed:v1:<base64>``, app.core.crypto). The migration has no key, so
it seals nothing itself: ``slimline serve``/``api`` and ``slimline keys rewrap`` seal any plaintext secret
left from before encryption was on, and every read seals one it meets.

A downgrade cannot open sealed secrets (again, no key): it clears them, and the old code creates a new
secret on the tenant's next read (receivers must fetch it again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret", existing_type=sa.String(length=128), type_=sa.String(length=255), existing_nullable=True
        )


def downgrade() -> None:
    op.execute("UPDATE tenants SET webhook_secret = NULL WHERE webhook_secret LIKE 'sealed:%'")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret", existing_type=sa.String(length=255), type_=sa.String(length=128), existing_nullable=True
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("name")
