import pytest

pytestmark = pytest.mark.asyncio


async def test_an_exception_can_be_stored_and_read_back(factory, tenant_a):
    record = await factory.exception(tenant_a, "EXC-1")
    async with factory.uow(tenant_a) as uow:
        loaded = await uow.exceptions.get("EXC-1")
    assert loaded.exception_id == record.exception_id
