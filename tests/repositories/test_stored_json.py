"""`stored_json` is the second formulation of what jsonb does to a value (key order, number
digits); a batch presents new rows through it without reading them back. PostgreSQL is asked
the same question for generated values and must answer the same, key order included."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import JSONB

from sentinai.domain.validation import stored_json
from tests import strategies

pytestmark = pytest.mark.asyncio

json_values = strategies.json_values(digits=30, text_size=6, max_leaves=20)


def printed(value) -> str:
    """Order-sensitive, and every number in the digits it holds."""
    return json.dumps(value, default=str, ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [{"n": 1e23, "tiny": 1.5e-10, "zero": -0.0, "aa": 2.50, "b": 10**20, "": [1.0, 1]}, {"é": 1, "ab": 2, "z": 3}],
    ids=["numbers", "keys by byte length"],
)
async def test_named_values_read_back_as_stored_json_says(factory, tenant_a, value):
    assert printed(await _through_postgresql(factory, tenant_a, value)) == printed(stored_json(value))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=json_values)
async def test_generated_values_read_back_as_stored_json_says(factory, tenant_a, value):
    assert printed(await _through_postgresql(factory, tenant_a, value)) == printed(stored_json(value))


async def _through_postgresql(factory, tenant_id, value):
    async with factory.uow(tenant_id, read_only=True) as uow:
        return await uow.scalar(select(bindparam("value", value, type_=JSONB)))
