"""History is append-only: the database refuses to change or remove events and audit rows."""

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio

TAMPERING = [
    "UPDATE {table} SET tenant_id = tenant_id",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
]
HISTORY = ["exception_event", "audit_log"]


@pytest.mark.parametrize("table", HISTORY)
@pytest.mark.parametrize("statement", TAMPERING)
async def test_the_application_role_cannot_change_history(factory, tenant_a, table, statement):
    await factory.exception(tenant_a, "EXC-H")
    await factory.events(tenant_a, "EXC-H", 1)
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(DBAPIError, match="permission denied"):
            await uow.session.execute(text(statement.format(table=table)))


@pytest.mark.parametrize("table", HISTORY)
@pytest.mark.parametrize("statement", TAMPERING)
async def test_even_the_owner_is_stopped_by_the_append_only_triggers(factory, database, tenant_a, table, statement):
    await factory.exception(tenant_a, "EXC-H")
    await factory.events(tenant_a, "EXC-H", 1)
    async with factory.uow(tenant_a) as uow:
        await uow.audit.record("test", "row", "tester", {})
        await uow.commit()
    owner = await asyncpg.connect(_libpq(database.owner_url))
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await owner.execute(statement.format(table=table))
    finally:
        await owner.close()


async def test_the_application_role_cannot_disable_the_triggers(factory, tenant_a):
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(DBAPIError, match="must be owner|permission denied"):
            await uow.session.execute(text("ALTER TABLE exception_event DISABLE TRIGGER exception_event_append_only"))
