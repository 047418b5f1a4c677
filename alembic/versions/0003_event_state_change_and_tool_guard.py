"""Events keep the state change they applied; steps may only call the tenant's own or global tools.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The state change an event applied, so the timeline alone explains the exception's state
    # and a replay can be checked against the original.
    op.execute("ALTER TABLE exception_event ADD COLUMN state_change jsonb NOT NULL DEFAULT '{}'::jsonb")
    # Foreign keys bypass row-level security, so the key alone would let a step point at another
    # tenant's tool. The check runs with the writer's row visibility and names no other row.
    op.execute("""
        CREATE FUNCTION sentinai_check_step_tool() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.tool_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM tool_definition t
                WHERE t.tool_id = NEW.tool_id AND (t.tenant_id IS NULL OR t.tenant_id = NEW.tenant_id)
            ) THEN
                RAISE EXCEPTION 'tool % is not available to this tenant', NEW.tool_id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NEW;
        END
        $$
    """)
    op.execute(
        "CREATE TRIGGER playbook_step_tool_in_scope BEFORE INSERT OR UPDATE OF tool_id, tenant_id "
        "ON playbook_step FOR EACH ROW EXECUTE FUNCTION sentinai_check_step_tool()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS playbook_step_tool_in_scope ON playbook_step")
    op.execute("DROP FUNCTION IF EXISTS sentinai_check_step_tool()")
    op.execute("ALTER TABLE exception_event DROP COLUMN state_change")
