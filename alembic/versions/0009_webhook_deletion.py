"""Webhook endpoints can be deleted: `deleted_at` marks one no longer listed, counted against the
tenant's quota or delivered to. The row stays, so its delivery log survives and a repeated delete
answers as the first one did.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE webhook_endpoint ADD COLUMN deleted_at timestamptz")


def downgrade() -> None:
    op.execute("DELETE FROM webhook_endpoint WHERE deleted_at IS NOT NULL")
    op.execute("ALTER TABLE webhook_endpoint DROP COLUMN deleted_at")
