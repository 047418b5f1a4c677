"""The tenant the input fuzzers write to: what it holds, and a fingerprint of its rows.

Tenant A is fuzzed. It starts with exceptions, a tool, two playbooks, two pending plans, two
spare API keys and a cursor of every list, made through the API, so generated inputs can name
things that exist (and writes succeed, replay and conflict). Tenant B holds the same exception
ids and is never written to: any change to its rows is a leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from sentinai.db import models
from tests.api import documents as doc
from tests.api.helpers import create_playbook, ingest, propose
from tests.graphql_client import ApiTenant
from tests.hardening.hostile import Pools, fixed_uuids

EXCEPTION_IDS = ["FZ-1", "FZ-2", "FZ-3", "FZ-4"]
TABLES = (
    "exception",
    "exception_event",
    "remediation_plan",
    "playbook",
    "playbook_step",
    "tool_definition",
    "audit_log",
    "api_key",
    "tenant_policy_pack_version",
)
SNAPSHOT = " UNION ALL ".join(
    f"SELECT '{table}' AS rows, count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
    f"FROM {table} t WHERE tenant_id = $1"
    for table in TABLES
)
CURSORS = """{
  exceptions(first: 1) { edges { cursor } }
  bySeverity: exceptions(first: 1, orderBy: SEVERITY) { edges { cursor } }
  slaBreaches(first: 1) { edges { cursor } }
  playbooks(first: 1) { edges { cursor } }
  tools(first: 1) { edges { cursor } }
  auditLog(first: 1) { edges { cursor } }
  exception(exceptionId: "FZ-1") { id events(first: 1) { edges { cursor node { id } } } }
}"""


@dataclass
class FuzzedTenant:
    a: ApiTenant
    b: ApiTenant
    pools: Pools
    owner: asyncpg.Connection
    """A connection of the schema owner: it reads every tenant's rows, past row-level security."""

    async def snapshot(self, tenant_id: str | None = None) -> dict[str, tuple[int, str]]:
        """Row count and a hash of the rows' whole content, per table, of one tenant (A by default)."""
        rows = await self.owner.fetch(SNAPSHOT, tenant_id or self.a.tenant_id)
        return {row["rows"]: (row["count"], row["md5"]) for row in rows}

    def key(self, role: models.ApiKeyRole) -> str:
        return self.a.keys[role]


async def holdings(gql, a: ApiTenant, b: ApiTenant) -> Pools:
    """Creates what tenant A starts with (and B's colliding exceptions); returns A's ids."""
    for exception_id in EXCEPTION_IDS:
        await ingest(gql, a.operator, exception_id, slaDeadline="2020-01-01T00:00:00Z")
        await ingest(gql, b.operator, exception_id)
    tool = await gql.data(doc.REGISTER_TOOL, {"input": {"name": "swift", "type": "REST"}}, key=a.admin)
    tool_id = tool["registerTool"]["tool"]["toolId"]
    playbooks = [await create_playbook(gql, a.admin, "settle", tool_id=tool_id), await create_playbook(gql, a.admin)]
    # Proposed by the AGENT key, so the ADMIN key the fuzzer mostly uses may decide them.
    plans = [await propose(gql, a.agent, "FZ-1"), await propose(gql, a.agent, "FZ-2", requiresApproval=False)]
    # Spare keys are the only ones the fuzzer may revoke: it keeps using the role keys.
    keys = [await _spare_key(gql, a, n) for n in range(2)]
    read = await gql.data(CURSORS, key=a.viewer)
    [event] = read["exception"]["events"]["edges"]
    return Pools(
        exception_ids=EXCEPTION_IDS,
        event_ids=fixed_uuids("events", 6),
        playbook_ids=[playbook["playbook"]["playbookId"] for playbook in playbooks],
        plan_ids=[plan["plan"]["planId"] for plan in plans],
        tool_ids=[tool_id],
        key_ids=keys,
        cursors=[read[field]["edges"][0]["cursor"] for field in read if field != "exception"] + [event["cursor"]],
        global_ids=[read["exception"]["id"], event["node"]["id"], playbooks[0]["playbook"]["id"]],
    )


async def _spare_key(gql, a: ApiTenant, n: int) -> str:
    created = await gql.data(doc.CREATE_KEY, {"input": {"name": f"spare-{n}", "role": "VIEWER"}}, key=a.admin)
    return created["createApiKey"]["apiKey"]["keyId"]
