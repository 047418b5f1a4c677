"""Idempotency keys: a mutation sent again with its `idempotencyKey` answers its first result.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0011_idempotency_keys.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS idempotency_key")
