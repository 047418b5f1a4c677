"""Tenant isolation in depth: repositories, then the row-level-security backstop beneath them."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from sentinai.db import models
from sentinai.db.session import Scope
from sentinai.domain.events import EventEnvelope
from sentinai.repositories.events import EventPage
from sentinai.repositories.exceptions import ExceptionFilter
from sentinai.repositories.playbooks import NewStep
from sentinai.repositories.remediation import NewPlan
from sentinai.repositories.unit_of_work import UnitOfWork

pytestmark = pytest.mark.asyncio


async def _seed(factory, tenant_id):
    """One row of every tenant-owned kind, with the same natural ids in every tenant."""
    await factory.exception(tenant_id, "EXC-SHARED", entity=f"entity-of-{tenant_id}")
    await factory.events(tenant_id, "EXC-SHARED", 2)
    async with factory.uow(tenant_id) as uow:
        playbook = await uow.playbooks.create("settle", [NewStep("notify", "notify")])
        await uow.policy_packs.publish({"owner": tenant_id}, "tester")
        await uow.tools.register("pager", models.ToolType.WEBHOOK, {"url": "https://x"}, {}, None)
        await uow.api_keys.create("ops", models.ApiKeyRole.VIEWER, "tester")
        await uow.remediation_plans.propose(
            NewPlan("EXC-SHARED", "cause", Decimal("0.5"), "retry", models.RiskLevel.LOW, True, "agent-1")
        )
        await uow.audit.record("test", "seeded", "tester", {})
        await uow.commit()
    return playbook.playbook_id


READERS = {
    "exceptions": lambda uow, ids: uow.exceptions.list(ExceptionFilter(), first=100),
    "exception by id": lambda uow, ids: uow.exceptions.get("EXC-SHARED"),
    "events": lambda uow, ids: uow.events.events_for(["EXC-SHARED"], EventPage(100)),
    "playbooks": lambda uow, ids: uow.playbooks.list(first=100),
    "playbook steps": lambda uow, ids: uow.playbooks.steps_for([ids["playbook"]]),
    "policy packs": lambda uow, ids: uow.policy_packs.list(),
    "tools": lambda uow, ids: uow.tools.list(),
    "api keys": lambda uow, ids: uow.api_keys.list(),
    "remediation plans": lambda uow, ids: uow.remediation_plans.plans_for(["EXC-SHARED"]),
    "audit log": lambda uow, ids: uow.audit.list(
        __import__("sentinai.repositories.audit", fromlist=["x"]).AuditFilter(), 100
    ),
    "current tenant": lambda uow, ids: uow.tenants.current(),
}


def _tenant_ids_in(result) -> set[str]:
    """Every tenant_id reachable from a repository's answer, whatever its shape."""
    found: set[str] = set()

    def walk(value):
        if value is None:
            return
        if hasattr(value, "tenant_id"):
            found.add(value.tenant_id)
        elif hasattr(value, "items") and callable(value.items):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif hasattr(value, "items"):
            walk(value.items)

    walk(result)
    return found


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_a_repository_never_shows_one_tenant_the_rows_of_another(factory, tenant_a, tenant_b, reader):
    await _seed(factory, tenant_a)
    playbook_b = await _seed(factory, tenant_b)
    async with factory.uow(tenant_a, read_only=True) as uow:
        result = await READERS[reader](uow, {"playbook": playbook_b})
    assert tenant_b not in _tenant_ids_in(result)


async def test_an_insert_takes_the_tenant_from_the_unit_of_work_and_rls_refuses_any_other(factory, tenant_a, tenant_b):
    async with factory.uow(tenant_a) as uow:
        record = await factory_exception_in(uow)
        assert record.tenant_id == tenant_a
    async with factory.uow(tenant_a) as uow:
        smuggled = models.ExceptionRecord(
            tenant_id=tenant_b,
            exception_id="EXC-SMUGGLED",
            domain="d",
            type="t",
            severity=models.Severity.LOW,
            status=models.ExceptionStatus.OPEN,
            source_system="s",
            entity="e",
        )
        with pytest.raises(DBAPIError, match="row-level security"):
            await uow.flush(smuggled)
    async with factory.uow(tenant_b) as uow:
        assert await uow.exceptions.get("EXC-SMUGGLED") is None


async def factory_exception_in(uow):
    from sentinai.repositories.exceptions import NewException

    record, _, _ = await uow.exceptions.upsert_exception(
        NewException("EXC-OWN", "Finance", "t", models.Severity.LOW, "s", "e")
    )
    return record


async def test_an_unscoped_select_inside_a_tenant_transaction_returns_only_that_tenants_rows(
    factory, tenant_a, tenant_b
):
    await factory.exception(tenant_a, "EXC-RLS")
    await factory.exception(tenant_b, "EXC-RLS")
    async with factory.uow(tenant_a) as uow:
        owners = (await uow.session.execute(text("SELECT DISTINCT tenant_id FROM exception"))).scalars().all()
        assert owners == [tenant_a]


async def test_with_no_tenant_set_the_application_role_sees_no_tenant_rows(factory, session_factory, tenant_a):
    await factory.exception(tenant_a, "EXC-NOBODY")
    async with session_factory() as session:
        await session.execute(text("SELECT set_config('role', 'sentinai_app', true)"))
        for table in ("exception", "exception_event", "playbook", "api_key", "audit_log", "tenant"):
            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar() == 0


async def test_a_pooled_connection_that_held_a_tenant_reads_nothing_afterwards(factory, session_factory, tenant_a):
    """The empty-string trap: after a local set_config, current_setting returns '' not NULL."""
    await factory.exception(tenant_a, "EXC-POOL")
    async with session_factory() as session:
        await session.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_a})
        await session.commit()
        await session.execute(text("SELECT set_config('role', 'sentinai_app', true)"))
        assert (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar() == ""
        assert (await session.execute(text("SELECT count(*) FROM exception"))).scalar() == 0


async def test_the_same_natural_keys_in_two_tenants_are_two_rows_that_never_merge(factory, tenant_a, tenant_b):
    await factory.exception(tenant_a, "EXC-TWIN", summary="A's")
    await factory.exception(tenant_b, "EXC-TWIN", summary="B's")
    event_id = uuid.uuid4()
    for tenant_id in (tenant_a, tenant_b):
        async with factory.uow(tenant_id) as uow:
            _, inserted = await uow.events.append_event_if_new(
                EventEnvelope(event_id, "EXC-TWIN", "CommentAdded", models.ActorType.USER, "u", {"text": tenant_id})
            )
            assert inserted, "the other tenant's event with the same id must not block this one"
            await uow.commit()
    for tenant_id, summary in ((tenant_a, "A's"), (tenant_b, "B's")):
        async with factory.uow(tenant_id) as uow:
            assert (await uow.exceptions.get("EXC-TWIN")).summary == summary
            assert (await uow.events.get(event_id)).payload == {"text": tenant_id}
            assert await uow.events.event_exists(event_id)


async def test_the_service_login_is_neither_superuser_nor_owner_and_holds_no_privilege_itself(session_factory):
    async with session_factory() as session:
        row = (
            await session.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))
        ).one()
        assert row == (False, False)
        owner = (await session.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'exception'"))).scalar()
        assert owner != (await session.execute(text("SELECT current_user"))).scalar()
        with pytest.raises(DBAPIError, match="permission denied"):
            await session.execute(text("SELECT count(*) FROM exception"))


async def test_every_tenant_owned_table_forces_row_level_security(session_factory):
    async with session_factory() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname IN ('tenant','tenant_policy_pack_version','playbook','playbook_step','exception',"
                    "'exception_event','remediation_plan','api_key','tool_definition','audit_log','idempotency_key')"
                )
            )
        ).all()
    assert len(rows) == 11
    assert all(enabled and forced for _, enabled, forced in rows)


async def test_every_key_of_a_tenant_owned_table_leads_with_tenant_id(session_factory):
    mixed_scope = {
        "tool_definition",
        "audit_log",
        "idempotency_key",
    }  # global rows have no tenant: docs/architecture.md
    async with session_factory() as session:
        await session.execute(text("SELECT set_config('role', 'sentinai_platform', true)"))
        rows = (
            await session.execute(
                text("""
            SELECT c.conrelid::regclass::text, c.conname, a.attname, c.confrelid::regclass::text
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype IN ('p', 'u', 'f') AND c.connamespace = 'public'::regnamespace
              AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.conrelid AND t.attname = 'tenant_id')
        """)
            )
        ).all()
    offenders = [
        (table, name)
        for table, name, first, referenced in rows
        if first != "tenant_id" and table not in mixed_scope and referenced not in mixed_scope
    ]
    assert rows and offenders == []


async def test_a_tenant_reads_global_tools_but_cannot_write_them(factory, tenant_a, platform_rows):
    async with factory.uow() as platform:
        tool = await platform.tools.register(
            f"global-{uuid.uuid4().hex[:6]}", models.ToolType.EMAIL, {}, {}, global_tool=True
        )
        await platform.commit()
    async with factory.uow(tenant_a) as uow:
        assert (await uow.tools.get(tool.tool_id)) is not None
        result = await uow.session.execute(
            text("UPDATE tool_definition SET name = 'hijacked' WHERE tool_id = :id"), {"id": tool.tool_id}
        )
        assert result.rowcount == 0


async def test_domain_packs_are_readable_by_every_tenant_and_writable_only_on_the_platform_path(
    factory, tenant_a, platform_rows
):
    domain = f"Domain-{uuid.uuid4().hex[:6]}"
    async with factory.uow() as platform:
        await platform.domain_packs.publish(domain, {"rules": []}, "admin")
        await platform.commit()
    async with factory.uow(tenant_a) as uow:
        assert (await uow.domain_packs.get(domain)).version == 1
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(DBAPIError, match="permission denied"):
            await uow.domain_packs.publish(domain, {}, "tenant")


async def test_counting_rows_through_the_repository_matches_the_tenant(factory, tenant_a, tenant_b):
    for index in range(3):
        await factory.exception(tenant_a, f"EXC-C{index}")
    await factory.exception(tenant_b, "EXC-C0")
    async with factory.uow(tenant_a) as uow:
        assert await uow.exceptions.count(ExceptionFilter()) == 3
        total = await uow.scalar(select(func.count()).select_from(models.ExceptionRecord))
        assert total == 3


async def test_a_tenant_scope_cannot_be_built_without_a_tenant(session_factory):
    with pytest.raises(ValueError):
        UnitOfWork(session_factory, Scope.tenant(""))


async def test_the_database_refuses_a_step_calling_another_tenants_tool(factory, tenant_a, tenant_b):
    async with factory.uow(tenant_b) as uow:
        tool = await uow.tools.register("b-only", models.ToolType.REST, {}, {}, None)
        await uow.commit()
    for tool_id in (tool.tool_id, 999_999_999):
        async with factory.uow(tenant_a) as uow:
            with pytest.raises(DBAPIError, match="is not available to this tenant"):
                await uow.playbooks.create("sneaky", [NewStep("call", "call_tool", {}, tool_id)])
