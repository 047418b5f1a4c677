"""System of record: tables, keys, indexes, roles, grants, row-level security, append-only history.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from pathlib import Path

from alembic import op
from sentinai.db.migrations import split_sql_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_HERE = Path(__file__).parent


def _run(sql_file: str) -> None:
    for statement in split_sql_script((_HERE / sql_file).read_text()):
        op.execute(statement)


def upgrade() -> None:
    _run("0001_system_of_record.sql")
    _run("0001_security.sql")


def downgrade() -> None:
    _run("0001_downgrade.sql")
