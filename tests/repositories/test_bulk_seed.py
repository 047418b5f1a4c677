"""The bulk seeder loads valid rows that the tenant guard then scopes like any others."""

import uuid

import pytest

from sentinai.repositories.events import EventPage
from sentinai.repositories.exceptions import ExceptionFilter
from sentinai.seeding.bulk import SeedPlan, seed_bulk
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio


async def test_bulk_seeding_loads_tenants_exceptions_and_timelines(database, factory):
    prefix = f"bulk{uuid.uuid4().hex[:6]}"
    counts = await seed_bulk(_libpq(database.owner_url), SeedPlan(2, 30, 4, playbooks_per_tenant=2, prefix=prefix))
    assert counts == {"tenants": 2, "exceptions": 60, "events": 240}
    async with factory.uow(f"{prefix}-001", read_only=True) as uow:
        assert await uow.exceptions.count(ExceptionFilter()) == 30
        page = await uow.events.events_for(["EXC-0000001"], EventPage(10))
        assert len(page["EXC-0000001"].items) == 4
