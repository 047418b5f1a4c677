"""Tamper evidence: a per-tenant hash chain over the timeline and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0004_history_hash_chain.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_chain ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS exception_event_chain ON exception_event")
    op.execute("DROP FUNCTION IF EXISTS sentinai_link_rows()")
    op.execute("DROP FUNCTION IF EXISTS sentinai_audit_canonical(audit_log), sentinai_event_canonical(exception_event)")
    op.execute("DROP FUNCTION IF EXISTS sentinai_utc_text(timestamptz)")
    op.execute("DROP TABLE IF EXISTS history_chain_link, history_chain_head")
