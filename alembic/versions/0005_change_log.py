"""The change log: one gap-free, ordered stream of every tenant's committed changes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0005_change_log.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_0_change_log ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS exception_event_0_change_log ON exception_event")
    op.execute("DROP FUNCTION IF EXISTS sentinai_log_changes()")
    op.execute("DROP TABLE IF EXISTS change_log, change_log_head")
