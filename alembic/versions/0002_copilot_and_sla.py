"""Co-Pilot and supervisor support: trigram search on summaries, SLA and similarity indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both ship with PostgreSQL's contrib and are trusted: the database owner may create them.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # Similar cases: nearest summaries within one tenant, read in distance order (KNN) from a
    # GiST index, so a call reads its top candidates and never the tenant's whole table.
    op.execute(
        "CREATE INDEX ix_exception_tenant_id_summary_trgm ON exception USING gist (tenant_id, summary gist_trgm_ops)"
    )
    # Similar cases by type, newest first.
    op.execute("CREATE INDEX ix_exception_tenant_id_type_created_at ON exception (tenant_id, type, created_at)")
    # SLA state of unresolved work (breached / at risk / on track): only open rows are indexed.
    op.execute(
        "CREATE INDEX ix_exception_tenant_id_open_sla_deadline ON exception (tenant_id, sla_deadline, exception_id) "
        "WHERE status <> 'resolved' AND sla_deadline IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_exception_tenant_id_open_sla_deadline")
    op.execute("DROP INDEX IF EXISTS ix_exception_tenant_id_type_created_at")
    op.execute("DROP INDEX IF EXISTS ix_exception_tenant_id_summary_trgm")
