"""API keys that expire: `api_key.expires_at` (null: never).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0008_api_key_expiry.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE api_key DROP COLUMN IF EXISTS expires_at")
