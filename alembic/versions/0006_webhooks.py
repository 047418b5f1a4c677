"""Outbound webhooks: tenant endpoints receiving the change log, and their delivery attempts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0006_webhooks.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS webhook_delivery, webhook_endpoint")
