"""Tamper evidence: every history row is linked into its tenant's hash chain, and editing,
deleting or slipping in a row — even as a superuser past the append-only triggers — is reported."""

import time
import uuid

import asyncpg
import pytest

from sentinai.seeding.bulk import SeedPlan, seed_bulk
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio


async def _reports(factory, tenant_id):
    async with factory.uow(tenant_id, read_only=True) as uow:
        return {chain: await uow.history.verify(chain) for chain in ("exception_event", "audit_log")}


async def _as_superuser(database, statement: str, *args) -> None:
    """What an attacker with the database's superuser could do: bypass every trigger."""
    connection = await asyncpg.connect(_libpq(database.owner_url))
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def test_normal_activity_leaves_both_chains_intact(factory, tenant_a):
    await factory.exception(tenant_a, "EXC-CHAIN")
    await factory.events(tenant_a, "EXC-CHAIN", 5)
    async with factory.uow(tenant_a) as uow:
        await uow.audit.record("test", "configured", "tester", {"n": 1})
        await uow.commit()
    reports = await _reports(factory, tenant_a)
    assert reports["exception_event"].links == 5 and reports["exception_event"].intact
    assert reports["audit_log"].links == 1 and reports["audit_log"].intact


async def test_an_edited_event_breaks_the_chain_at_its_position(factory, database, tenant_a):
    await factory.exception(tenant_a, "EXC-EDIT")
    event_ids = await factory.events(tenant_a, "EXC-EDIT", 5)
    await _as_superuser(
        database,
        'UPDATE exception_event SET payload = \'{"text": "forged"}\' WHERE tenant_id = $1 AND event_id = $2',
        tenant_a,
        event_ids[2],
    )
    report = (await _reports(factory, tenant_a))["exception_event"]
    assert report.first_broken_position == 3


async def test_a_deleted_or_smuggled_row_is_reported(factory, database, tenant_a):
    await factory.exception(tenant_a, "EXC-DEL")
    event_ids = await factory.events(tenant_a, "EXC-DEL", 3)
    await _as_superuser(
        database, "DELETE FROM exception_event WHERE tenant_id = $1 AND event_id = $2", tenant_a, event_ids[0]
    )
    await _as_superuser(
        database,
        "INSERT INTO exception_event (tenant_id, event_id, exception_id, event_type, "
        "actor_type, payload) VALUES ($1, $2, 'EXC-DEL', 'CommentAdded', 'user', '{}')",
        tenant_a,
        uuid.uuid4(),
    )
    report = (await _reports(factory, tenant_a))["exception_event"]
    assert report.first_broken_position == 1 and report.unlinked_rows == 1


async def test_a_tenant_cannot_read_or_write_another_tenants_links(factory, tenant_a, tenant_b):
    from sqlalchemy import text

    await factory.exception(tenant_b, "EXC-LINKS")
    async with factory.uow(tenant_a) as uow:
        assert (await uow.execute(text("SELECT count(*) FROM history_chain_link"))).scalar() == 0
        with pytest.raises(Exception, match="permission denied"):
            await uow.execute(text("INSERT INTO history_chain_head VALUES ('x', 'y', 0, '\\x'::bytea)"))


async def test_verifying_ten_thousand_events(database, factory, capsys):
    prefix = f"hc{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    await seed_bulk(_libpq(database.owner_url), SeedPlan(1, 1000, 10, playbooks_per_tenant=1, prefix=prefix))
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    report = (await _reports(factory, f"{prefix}-001"))["exception_event"]
    verified = time.perf_counter() - started
    assert report.links == 10_000 and report.intact
    with capsys.disabled():
        print(
            f"\n  hash chain: 10,000 events loaded (with links) in {seeded:.2f} s, verified in {verified * 1000:.0f} ms"
        )


async def test_a_tenant_admin_verifies_its_history_through_the_api(gql, api_a):
    from tests.api.helpers import ingest, record

    await ingest(gql, api_a.operator, "EXC-VERIFY")
    await record(gql, api_a.agent, "EXC-VERIFY", "CommentAdded", {"text": "x"})
    data = await gql.data("{ verifyHistory { chain links intact firstBrokenPosition unlinkedRows } }", key=api_a.admin)
    chains = {report["chain"]: report for report in data["verifyHistory"]}
    assert chains["exception_event"] == {
        "chain": "exception_event",
        "links": 2,
        "intact": True,
        "firstBrokenPosition": None,
        "unlinkedRows": 0,
    }
    assert chains["audit_log"]["intact"] and chains["audit_log"]["links"] == 4  # the fixture's four keys
