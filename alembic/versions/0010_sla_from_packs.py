"""SLA deadlines derived from packs: `exception.sla_source` says who decided the deadline (the
source, or the policy or domain pack whose hours gave it) and `sla_pack_version` which version of
that pack. Deadlines stored before this revision were all sent by their sources.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TYPE sla_source AS ENUM ('source', 'policy_pack', 'domain_pack')")
    op.execute("ALTER TABLE exception ADD COLUMN sla_source sla_source, ADD COLUMN sla_pack_version integer")
    op.execute("UPDATE exception SET sla_source = 'source' WHERE sla_deadline IS NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE exception DROP COLUMN sla_pack_version, DROP COLUMN sla_source")
    op.execute("DROP TYPE sla_source")
