"""No N+1: a request's SQL statements depend on the query's shape, not on its row count."""

import pytest

from sentinai.db import models
from sentinai.repositories.playbooks import NewStep
from tests.api.helpers import ingest, record

pytestmark = pytest.mark.asyncio

NESTED = """
query Nested($first: Int!) {
  exceptions(first: $first, filter: {status: [OPEN]}) {
    nodes {
      exceptionId severity status
      events(first: 10) { edges { node { eventType payload createdAt } } }
      currentPlaybook { name version steps { stepOrder name actionType params tool { name } } }
      currentStep { name }
      remediationPlans { status }
    }
  }
}"""


async def _world(factory, gql, api, count):
    async with factory.uow(api.tenant_id) as uow:
        tool = await uow.tools.register("t", models.ToolType.REST, {}, {}, None)
        playbooks = [
            await uow.playbooks.create(f"pb-{n}", [NewStep(f"s{k}", "call_tool", {}, tool.tool_id) for k in range(5)])
            for n in range(3)
        ]
        await uow.commit()
    for n in range(count):
        await ingest(gql, api.operator, f"N-{n:03d}")
        for _ in range(9):
            await record(gql, api.agent, f"N-{n:03d}", "CommentAdded", {"text": "x"})
        await record(
            gql,
            api.agent,
            f"N-{n:03d}",
            "CommentAdded",
            {"text": "attach"},
            {"playbookId": playbooks[n % 3].playbook_id, "currentStep": 2},
        )


async def _count(gql, count_statements, key, first):
    with count_statements:
        data = await gql.data(NESTED, {"first": first}, key=key)
    return count_statements.count, data


async def test_fifty_exceptions_with_timelines_and_playbooks_cost_what_five_cost(
    factory, gql, api_a, count_statements, capsys
):
    await _world(factory, gql, api_a, 50)
    small, small_data = await _count(gql, count_statements, api_a.viewer, 5)
    large, large_data = await _count(gql, count_statements, api_a.viewer, 50)
    nodes = large_data["exceptions"]["nodes"]
    assert len(nodes) == 50 and all(len(node["events"]["edges"]) == 10 for node in nodes)
    assert all(len(node["currentPlaybook"]["steps"]) == 5 and node["currentStep"]["name"] == "s1" for node in nodes)
    assert small == large
    assert large <= 9
    with capsys.disabled():
        print(f"\n  nested exceptions×events×playbook×steps×tool: {small} statements for 5 rows, {large} for 50 rows")
