"""Plans are remembered per parsed document, variables and role — never across what could change
the answer: the tenant is bound when a plan is rendered, and a list filtered by SLA state (whose
filter holds the request's instant) is planned again every time."""

from __future__ import annotations

import pytest
from graphql import parse

from sentinai.api.planner import Planner
from sentinai.api.schema import schema
from sentinai.auth import Principal
from sentinai.context import Context
from sentinai.domain.actors import Actor
from sentinai.domain.enums import ActorType, ApiKeyRole
from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio

DETAIL = parse("query($id: String!) { exception(exceptionId: $id) { exceptionId events(first: 5) { totalCount } } }")
LIST = parse("{ exceptions(first: 5) { nodes { exceptionId sla { state } } } }")
BREACHED = parse("{ exceptions(first: 5, filter: {slaState: [BREACHED]}) { nodes { exceptionId } } }")
BREACHES = parse("{ slaBreaches(first: 5) { nodes { exceptionId } } }")


def context_of(session_factory, tenant_id: str, role: ApiKeyRole) -> Context:
    principal = Principal(Actor("key:t", role, ActorType.USER), tenant_id, role)
    return Context(None, None, principal, session_factory)


async def test_a_detail_plan_is_remembered_per_variables_and_role_but_not_per_tenant(session_factory):
    planner = Planner(schema)
    viewer_a = context_of(session_factory, "tenant-a", ApiKeyRole.VIEWER)
    viewer_b = context_of(session_factory, "tenant-b", ApiKeyRole.VIEWER)
    operator_a = context_of(session_factory, "tenant-a", ApiKeyRole.OPERATOR)

    first = planner.plan(DETAIL, {"id": "EXC-1"}, None, viewer_a)

    assert first is not None
    assert planner.plan(DETAIL, {"id": "EXC-1"}, None, viewer_b) is first, "a plan holds no tenant"
    assert planner.plan(DETAIL, {"id": "EXC-2"}, None, viewer_a) is not first
    assert planner.plan(DETAIL, {"id": "EXC-1"}, None, operator_a) is not first
    assert planner.plan(parse(DETAIL.loc.source.body), {"id": "EXC-1"}, None, viewer_a) is not first


async def test_a_list_judged_by_sla_state_is_planned_again_for_every_request(session_factory):
    planner = Planner(schema)
    viewer = context_of(session_factory, "tenant-a", ApiKeyRole.VIEWER)

    for judged in (BREACHED, BREACHES):
        assert planner.plan(judged, None, None, viewer) is not planner.plan(judged, None, None, viewer)
    assert planner.plan(LIST, None, None, viewer) is planner.plan(LIST, None, None, viewer), "no instant in it"


async def test_a_remembered_plan_renders_each_tenants_own_rows(gql, api_a, api_b):
    await ingest(gql, api_a.operator, "EXC-MEMO", summary="tenant a's")
    await ingest(gql, api_b.operator, "EXC-MEMO", summary="tenant b's")
    query = "query($id: String!) { exception(exceptionId: $id) { summary } }"

    answers = [await gql.data(query, {"id": "EXC-MEMO"}, key=key) for key in (api_a.viewer, api_b.viewer, api_a.viewer)]

    assert [answer["exception"]["summary"] for answer in answers] == ["tenant a's", "tenant b's", "tenant a's"]
