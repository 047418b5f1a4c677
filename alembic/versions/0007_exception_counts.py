"""Per-tenant exception counts by (domain, type, severity, status), kept by triggers at write time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in split_sql_script((Path(__file__).parent / "0007_exception_counts.sql").read_text()):
        op.execute(statement)


def downgrade() -> None:
    for name in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS exception_count_{name} ON exception")
    op.execute("DROP FUNCTION IF EXISTS sentinai_count_exceptions(), sentinai_recount_exception()")
    op.execute("DROP FUNCTION IF EXISTS sentinai_forget_exception_counts(), sentinai_lock_tenant_writes(text)")
    op.execute("DROP TABLE IF EXISTS exception_count")
