"""Fixtures of the hardening tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest_asyncio

from tests.conftest import _libpq
from tests.hardening.fuzzed_tenant import FuzzedTenant, holdings


@pytest_asyncio.fixture(scope="session")
async def run() -> Callable[[Awaitable[Any]], Any]:
    """Runs a coroutine to completion on the event loop the fixtures share, from a synchronous
    test. A fuzzer is a synchronous test holding its `@given` function, so that after the
    examples it can check what they covered; each example awaits the API through this."""
    return asyncio.get_running_loop().run_until_complete


@pytest_asyncio.fixture
async def fuzzed(gql, api_a, api_b, database) -> AsyncIterator[FuzzedTenant]:
    pools = await holdings(gql, api_a, api_b)
    owner = await asyncpg.connect(_libpq(database.owner_url))
    try:
        yield FuzzedTenant(api_a, api_b, pools, owner)
    finally:
        await owner.close()
