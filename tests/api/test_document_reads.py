"""Reads answered by one SQL statement (`resolvers.documents`) say exactly what the resolvers say.

Every document below is sent to two apps over the same database: the normal one, which
plans it into one statement, and one with `document_reads` off, which resolves it field by
field. The answers must be equal value for value, and the planned one must cost one query.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from sentinai.db import models
from sentinai.repositories.playbooks import NewStep
from tests.api import documents as doc
from tests.api.helpers import propose, record
from tests.conftest import ADMIN_TOKEN
from tests.factories import at

pytestmark = pytest.mark.asyncio

W1 = """
query W1 {
  exceptions(filter: {status: [OPEN]}, first: 50) {
    nodes {
      id exceptionId domain type severity status sourceSystem entity amount slaDeadline owner
      stepOrder: currentStepOrder createdAt updatedAt summary attributes enrichedContext rcaHypothesis
      resolvedAt domainPackVersion policyPackVersion
      events(first: 10, order: NEWEST_FIRST) {
        nodes { id eventId exceptionId eventType actorType actorId payload stateChange createdAt }
      }
      playbook: currentPlaybook {
        id playbookId name version description conditions createdAt
        steps { id stepId playbookId stepOrder name actionType params
                tool { id toolId name type description config secretKeys isGlobal createdAt } }
      }
      currentStep { name stepOrder }
    }
  }
}"""

DETAIL = """
query Detail($exceptionId: String!, $withPlaybook: Boolean!) {
  exception(exceptionId: $exceptionId) {
    __typename exceptionId status amount
    ...Timeline
    currentPlaybook @include(if: $withPlaybook) { name steps { __typename stepOrder } }
    currentPlaybook @skip(if: $withPlaybook) { version }
  }
  missing: exception(exceptionId: "NO-SUCH-EXCEPTION") { exceptionId }
}
fragment Timeline on Exception {
  events(first: 100) {
    __typename totalCount
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { __typename eventType payload } }
  }
}"""

PAGED = """
query Paged($filter: ExceptionFilter, $order: ExceptionOrder!, $first: Int, $after: String) {
  exceptions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { exceptionId severity slaDeadline createdAt } }
    again: nodes { exceptionId }
  }
}"""

TIMELINE = """
query Timeline($exceptionId: String!, $types: [String!], $actor: ActorType, $after: String) {
  exception(exceptionId: $exceptionId) {
    all: events(first: 3) { totalCount pageInfo { endCursor hasNextPage } nodes { eventType } }
    later: events(first: 3, after: $after) { pageInfo { hasPreviousPage } nodes { eventType } }
    filtered: events(eventTypes: $types, actorType: $actor, order: NEWEST_FIRST) { totalCount nodes { eventType } }
    none: events(first: 0) { totalCount pageInfo { hasNextPage startCursor } nodes { eventId } }
  }
}"""


@pytest.fixture(autouse=True)
def _global_tools_removed_after_each_test(platform_rows):
    """`_world` registers a global tool per tenant; other tests must not see them."""


async def _world(factory, gql, tenant) -> None:
    """Exceptions with and without amounts, deadlines, owners and playbooks; timelines by
    several actors; a playbook whose steps call the tenant's tool, a global one and none."""
    async with factory.uow() as platform:
        shared = await platform.tools.register(
            f"pager-{tenant.tenant_id}",
            models.ToolType.EMAIL,
            {"to": "ops"},
            {"token": "x", "api_key": "y"},
            "Pages",
            global_tool=True,
        )
        await platform.commit()
    async with factory.uow(tenant.tenant_id) as uow:
        own = await uow.tools.register("settle-api", models.ToolType.REST, {"url": "https://x"}, {}, None)
        steps = [NewStep("call", "call_tool", {"n": 1}, own.tool_id), NewStep("page", "notify", {}, shared.tool_id)]
        playbook = await uow.playbooks.create("settle", [*steps, NewStep("close", "escalate", {"why": "é"})])
        await uow.commit()
    base = at("2026-03-01T09:00:00+00:00")
    for n in range(12):
        await factory.exception(
            tenant.tenant_id,
            f"DOC-{n:02d}",
            severity=list(models.Severity)[n % 4],
            amount=None if n % 3 == 0 else f"{n}00.5",
            sla_deadline=None if n % 4 == 0 else base + timedelta(hours=n),
            summary=None if n == 5 else f"summary {n}",
        )
        await factory.events(tenant.tenant_id, f"DOC-{n:02d}", n % 5)
    await record(gql, tenant.agent, "DOC-01", "TriageCompleted", {"severity": "HIGH"}, {"status": "ANALYZING"})
    await record(gql, tenant.agent, "DOC-02", "CommentAdded", {"text": "attach"}, {"playbookId": playbook.playbook_id})
    await record(gql, tenant.operator, "DOC-02", "CommentAdded", {"text": "next"}, {"currentStep": 2, "owner": "ana"})
    await record(gql, tenant.agent, "DOC-03", "CommentAdded", {"n": 1.5, "nested": {"list": [1, None]}})
    await propose(gql, tenant.agent, "DOC-02", confidence=0.85, actionParams={"ssi": "new"})
    await propose(gql, tenant.agent, "DOC-02", confidence=0.123, riskLevel="LOW", requiresApproval=False)


async def _same_answer(gql, resolvers_only, count_statements, document, variables, key) -> dict:
    with count_statements:
        planned = await gql.post(document, variables, key=key)
    resolved = await resolvers_only.post(document, variables, key=key)
    # The apps keep separate cost budgets, so only `extensions.cost.throttleStatus` may differ.
    answers = (planned.get("data"), planned.get("errors")), (resolved.get("data"), resolved.get("errors"))
    assert answers[0] == answers[1], _first_difference(*answers)
    assert "errors" not in planned, planned
    # Besides the document: the scope's set_config, and the key lookup (uncached in tests) with its own.
    documents = [s for s in count_statements.statements if "json_build_object" in s]
    assert len(documents) == 1 and count_statements.count <= 4, count_statements.statements
    return planned["data"]


def _first_difference(planned, resolved, path="") -> str:
    if isinstance(planned, dict) and isinstance(resolved, dict) and list(planned) == list(resolved):
        return next(
            _first_difference(planned[k], resolved[k], f"{path}.{k}") for k in planned if planned[k] != resolved[k]
        )
    if isinstance(planned, (list, tuple)) and isinstance(resolved, (list, tuple)) and len(planned) == len(resolved):
        pairs = enumerate(zip(planned, resolved))
        return next(_first_difference(a, b, f"{path}[{i}]") for i, (a, b) in pairs if a != b)
    return f"at {path or 'the top'}: planned {planned!r}, resolved {resolved!r}"


async def test_the_list_with_timelines_playbooks_steps_and_tools_is_the_resolvers_answer_in_one_statement(
    factory, gql, resolvers_only, api_a, api_b, count_statements
):
    await _world(factory, gql, api_a)
    await _world(factory, gql, api_b)
    data = await _same_answer(gql, resolvers_only, count_statements, W1, {}, api_a.viewer)
    nodes = data["exceptions"]["nodes"]
    assert {node["exceptionId"] for node in nodes} == {f"DOC-{n:02d}" for n in range(12) if n != 1}
    attached = next(node for node in nodes if node["exceptionId"] == "DOC-02")
    assert [step["tool"] and step["tool"]["isGlobal"] for step in attached["playbook"]["steps"]] == [False, True, None]
    assert attached["playbook"]["steps"][1]["tool"]["secretKeys"] == ["api_key", "token"]
    assert attached["currentStep"]["stepOrder"] == 2


async def test_details_fragments_directives_aliases_and_typenames_match(
    factory, gql, resolvers_only, api_a, count_statements
):
    await _world(factory, gql, api_a)
    for exception_id in ("DOC-02", "DOC-03", "DOC-00"):
        for with_playbook in (True, False):
            variables = {"exceptionId": exception_id, "withPlaybook": with_playbook}
            data = await _same_answer(gql, resolvers_only, count_statements, DETAIL, variables, api_a.viewer)
            assert data["missing"] is None


FRONTEND_DETAIL = """
query ExceptionDetail($exceptionId: String!) {
  exception(exceptionId: $exceptionId) {
    id exceptionId domain type severity status sourceSystem entity amount slaDeadline owner
    summary attributes createdAt updatedAt
    sla { state remaining }
    currentPlaybook { name version steps { stepOrder name actionType params tool { name type } } }
    currentStep { stepOrder name actionType }
    events(first: 20) {
      totalCount
      edges { cursor node { eventType actorType actorId payload createdAt } }
      pageInfo { hasNextPage endCursor }
    }
    remediationPlans {
      id planId exceptionId rootCause confidence actionType actionParams riskLevel requiresApproval status
      proposedBy decidedBy decidedAt decisionNote outcomeNote executedAt createdAt updatedAt
    }
  }
}"""


async def test_the_frontends_exception_detail_with_remediation_plans_matches(
    factory, gql, resolvers_only, api_a, clock, count_statements
):
    await _world(factory, gql, api_a)
    clock.frozen = at("2026-03-01T12:30:00+00:00")  # both apps judge `sla.remaining` at one instant
    for exception_id in ("DOC-02", "DOC-03"):
        variables = {"exceptionId": exception_id}
        data = await _same_answer(gql, resolvers_only, count_statements, FRONTEND_DETAIL, variables, api_a.viewer)
    plans = (await gql.data(FRONTEND_DETAIL, {"exceptionId": "DOC-02"}, key=api_a.viewer))["exception"]
    assert [plan["confidence"] for plan in plans["remediationPlans"]] == [0.123, 0.85]
    assert data["exception"]["remediationPlans"] == []


async def test_every_ordering_filter_and_page_matches_and_cursors_carry_over(
    factory, gql, resolvers_only, api_a, api_b, clock, count_statements
):
    await _world(factory, gql, api_a)
    await _world(factory, gql, api_b)
    clock.frozen = at("2026-03-01T12:30:00+00:00")
    filters = [
        None,
        {"severity": ["HIGH", "CRITICAL"]},
        {"status": ["OPEN", "ANALYZING"], "domain": "Finance", "entity": "CPTY-001"},
        {"createdFrom": "2020-01-01T00:00:00Z", "slaState": ["AT_RISK", "BREACHED"]},
        {"owner": "ana"},
        {"type": "NoSuchType"},
    ]
    for order in ("NEWEST", "OLDEST", "SLA_DEADLINE", "SEVERITY"):
        for where in filters:
            after = None
            for _ in range(3):  # walk pages of 5 with the planned path's cursors
                variables = {"filter": where, "order": order, "first": 5, "after": after}
                page = await _same_answer(gql, resolvers_only, count_statements, PAGED, variables, api_a.viewer)
                after = page["exceptions"]["pageInfo"]["endCursor"]
                if not page["exceptions"]["pageInfo"]["hasNextPage"]:
                    break


SLA = """
query Sla {
  exceptions(first: 100, orderBy: SLA_DEADLINE) {
    nodes { exceptionId status sla { __typename deadline remaining state breachedAt } }
  }
}"""


async def test_sla_states_remaining_seconds_and_breaches_match_at_every_instant(
    factory, gql, resolvers_only, api_a, clock, count_statements
):
    await _world(factory, gql, api_a)
    resolved = models.ExceptionStatus.RESOLVED
    await factory.exception(api_a.tenant_id, "DOC-MET", status=resolved, sla_deadline=at("2031-01-01T00:00:00+00:00"))
    await factory.exception(api_a.tenant_id, "DOC-LATE", status=resolved, sla_deadline=at("2026-01-01T00:00:00+00:00"))
    states = set()
    for instant in ("2026-02-28T00:00:00+00:00", "2026-03-01T12:30:00.250000+00:00", "2026-03-01T16:00:00+00:00"):
        clock.frozen = at(instant)
        data = await _same_answer(gql, resolvers_only, count_statements, SLA, {}, api_a.viewer)
        states |= {node["sla"]["state"] for node in data["exceptions"]["nodes"]}
    assert states == {"NONE", "MET", "BREACHED", "AT_RISK", "ON_TRACK"}


async def test_timeline_pages_filters_and_empty_pages_match(factory, gql, resolvers_only, api_a, count_statements):
    await _world(factory, gql, api_a)
    first = await resolvers_only.post(TIMELINE, {"exceptionId": "DOC-04"}, key=api_a.viewer)
    after = first["data"]["exception"]["all"]["pageInfo"]["endCursor"]
    for variables in (
        {"exceptionId": "DOC-04", "after": after},
        {"exceptionId": "DOC-01", "types": ["TriageCompleted", "CommentAdded"], "actor": "AGENT", "after": after},
        {"exceptionId": "DOC-02", "actor": "USER"},
    ):
        await _same_answer(gql, resolvers_only, count_statements, TIMELINE, variables, api_a.viewer)


COPILOT = re.search(r"```graphql\n(.*?)```", (Path(__file__).parents[2] / "docs" / "copilot.md").read_text(), re.S)[1]


async def _resolved_with_an_executed_plan(gql, tenant, exception_id: str) -> None:
    plan = (await propose(gql, tenant.agent, exception_id, actionType="reinstruct"))["plan"]
    await gql.data(doc.APPROVE, {"input": {"planId": plan["planId"]}}, key=tenant.operator)
    await gql.data(doc.OUTCOME, {"input": {"planId": plan["planId"], "outcome": "EXECUTED"}}, key=tenant.agent)
    await gql.data(doc.TRANSITION, {"input": {"exceptionId": exception_id, "status": "RESOLVED"}}, key=tenant.operator)


async def test_the_copilot_context_is_the_resolvers_answer_in_one_statement(
    factory, gql, resolvers_only, api_a, api_b, clock, count_statements
):
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"sla": {"atRiskMinutes": 90}}}}, key=api_a.admin)
    for tenant in (api_a, api_b):
        await _world(factory, gql, tenant)
        await _resolved_with_an_executed_plan(gql, tenant, "DOC-04")
    clock.frozen = at("2026-03-01T12:30:00+00:00")
    answers = {}
    for exception_id in ("DOC-02", "DOC-05", "DOC-00", "NO-SUCH-EXCEPTION"):
        variables = {"exceptionId": exception_id}
        answers[exception_id] = await _same_answer(
            gql, resolvers_only, count_statements, COPILOT, variables, api_a.viewer
        )
    context = answers["DOC-02"]["exception"]
    assert [tool["name"] for tool in context["currentPlaybook"]["tools"]] == ["settle-api", f"pager-{api_a.tenant_id}"]
    resolved = next(case for case in context["similar"] if case["exception"]["exceptionId"] == "DOC-04")
    assert resolved["remediations"] == ["reinstruct"] and resolved["timeToResolve"] is not None
    contributions = [reason["contribution"] for reason in context["similar"][0]["reasons"]]
    assert contributions == sorted(contributions, reverse=True) and len(contributions) == 5
    assert context["entityHistory"]["totalCount"] == 2 and context["policyPack"]["version"] == 1
    assert answers["NO-SUCH-EXCEPTION"] == {"exception": None}


async def test_a_tool_called_by_several_steps_is_listed_once_where_it_is_first_called(
    factory, gql, resolvers_only, api_a, count_statements
):
    async with factory.uow(api_a.tenant_id) as uow:
        pager = await uow.tools.register("pager", models.ToolType.EMAIL, {}, {}, None)
        api = await uow.tools.register("api", models.ToolType.REST, {}, {}, None)
        steps = [NewStep("page", "notify", {}, pager.tool_id), NewStep("call", "call_tool", {}, api.tool_id)]
        playbook = await uow.playbooks.create("loop", [NewStep("wait", "escalate", {}), *steps, steps[0]])
        await uow.commit()
    await factory.exception(api_a.tenant_id, "LOOP")
    await record(gql, api_a.agent, "LOOP", "CommentAdded", {"text": "attach"}, {"playbookId": playbook.playbook_id})
    query = '{ exception(exceptionId: "LOOP") { currentPlaybook { tools { name } again: tools { toolId } } } }'

    data = await _same_answer(gql, resolvers_only, count_statements, query, {}, api_a.viewer)

    assert data["exception"]["currentPlaybook"]["tools"] == [{"name": "pager"}, {"name": "api"}]


ENTITY_HISTORY = """
query History($exceptionId: String!, $first: Int, $after: String) {
  exception(exceptionId: $exceptionId) {
    entityHistory(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { exceptionId entityHistory(first: 1) { totalCount nodes { exceptionId } } } }
    }
  }
}"""


async def test_an_exceptions_entity_history_pages_alike_with_the_planned_paths_cursors(
    factory, gql, resolvers_only, api_a, api_b, count_statements
):
    for tenant in (api_a, api_b):
        for n in range(6):
            await factory.exception(tenant.tenant_id, f"ENT-{n}", entity="CPTY-E")
    after, seen = None, []
    for _ in range(4):
        variables = {"exceptionId": "ENT-5", "first": 2, "after": after}
        page = await _same_answer(gql, resolvers_only, count_statements, ENTITY_HISTORY, variables, api_a.viewer)
        history = page["exception"]["entityHistory"]
        seen += [edge["node"]["exceptionId"] for edge in history["edges"]]
        after = history["pageInfo"]["endCursor"]
        if not history["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["ENT-4", "ENT-3", "ENT-2", "ENT-1", "ENT-0"]


async def test_similar_cases_of_similar_cases_and_none_asked_for_answer_alike(
    factory, gql, resolvers_only, api_a, count_statements
):
    await _world(factory, gql, api_a)
    query = """query($first: Int) { exception(exceptionId: "DOC-03") {
      none: similar(first: 0) { score }
      similar(first: $first) { __typename score resolvedAt exception { exceptionId similar(first: 2) {
        reasons { __typename kind detail contribution } exception { currentPlaybook { name } } } } } } }"""
    for first in (None, 1, 20):
        data = await _same_answer(gql, resolvers_only, count_statements, query, {"first": first}, api_a.viewer)
        assert data["exception"]["none"] == [] and len(data["exception"]["similar"]) == min(first or 5, 11)


async def test_the_supervisors_breaches_with_each_ones_similar_cases_history_and_tools_take_one_statement(
    factory, gql, resolvers_only, api_a, api_b, clock, count_statements
):
    for tenant in (api_a, api_b):
        await _world(factory, gql, tenant)
    clock.frozen = at("2026-03-01T09:30:00+00:00")
    query = """{ slaBreaches(first: 5) { totalCount nodes { exceptionId sla { state }
      similar(first: 2) { score reasons { kind } exception { exceptionId } }
      entityHistory(first: 1) { totalCount nodes { exceptionId } }
      currentPlaybook { tools { name } } } } }"""

    data = await _same_answer(gql, resolvers_only, count_statements, query, {}, api_a.viewer)

    breaches = data["slaBreaches"]["nodes"]
    assert breaches and all(len(node["similar"]) == 2 for node in breaches)


async def test_arguments_the_resolvers_refuse_get_the_resolvers_errors(factory, gql, resolvers_only, api_a):
    await factory.exception(api_a.tenant_id, "X")
    refused = [
        ("{ exceptions(first: 101) { nodes { exceptionId } } }", {}),
        ('{ exceptions(after: "bm90LWEtY3Vyc29y") { nodes { exceptionId } } }', {}),
        ('{ exception(exceptionId: "X") { events(after: "bm9wZQ") { totalCount } } }', {}),
        ('{ exception(exceptionId: "X") { similar(first: 21) { score } } }', {}),
        ('{ exception(exceptionId: "X") { similar(first: -1) { score } } }', {}),
        ('{ exception(exceptionId: "X") { entityHistory(first: 101) { totalCount } } }', {}),
        ('{ exception(exceptionId: "X") { entityHistory(after: "bm9wZQ") { totalCount } } }', {}),
        ('{ exceptions(filter: {createdFrom: "2026-01-01T00:00:00"}) { totalCount } }', {}),
    ]
    for document, variables in refused:
        planned = await gql.post(document, variables, key=api_a.viewer)
        resolved = await resolvers_only.post(document, variables, key=api_a.viewer)
        assert (planned["data"], planned["errors"]) == (resolved["data"], resolved["errors"])
        assert planned["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", planned
    platform = await gql.post("{ exceptions { totalCount } }", key=ADMIN_TOKEN)
    assert platform["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_object_wider_than_one_sql_call_takes_is_still_answered(factory, gql, resolvers_only, api_a):
    await factory.exception(api_a.tenant_id, "WIDE-1")
    columns = (
        "id exceptionId domain type severity status sourceSystem entity amount slaDeadline owner "
        "currentStepOrder summary attributes enrichedContext rcaHypothesis resolvedAt domainPackVersion "
        "policyPackVersion createdAt updatedAt __typename"
    )
    aliases = " ".join(f"a{n}: exceptionId" for n in range(30))  # 22 + 30 keys: json_build_object takes 50
    query = f'{{ exception(exceptionId: "WIDE-1") {{ {columns} {aliases} }} }}'
    planned = await gql.data(query, key=api_a.viewer)
    assert planned == await resolvers_only.data(query, key=api_a.viewer)
    assert len(planned["exception"]) == 52


async def test_another_tenants_exceptions_read_as_missing(factory, gql, api_a, api_b):
    await _world(factory, gql, api_b)
    data = await gql.data('{ exception(exceptionId: "DOC-02") { exceptionId } }', key=api_a.viewer)
    assert data == {"exception": None}
    listed = await gql.data("{ exceptions(first: 100) { totalCount nodes { exceptionId } } }", key=api_a.viewer)
    assert listed["exceptions"] == {"totalCount": 0, "nodes": []}


async def test_a_statement_reused_for_another_tenant_reads_that_tenants_rows(factory, gql, api_a, api_b):
    await factory.exception(api_a.tenant_id, "MINE-A", entity="E-A")
    await factory.exception(api_b.tenant_id, "MINE-B", entity="E-B")
    query = '{ exceptions { nodes { exceptionId entity } } one: exception(exceptionId: "MINE-A") { entity } }'
    for tenant, mine in ((api_a, "MINE-A"), (api_b, "MINE-B"), (api_a, "MINE-A")):
        data = await gql.data(query, key=tenant.viewer)
        assert [node["exceptionId"] for node in data["exceptions"]["nodes"]] == [mine]
        assert data["one"] == ({"entity": "E-A"} if tenant is api_a else None)


async def test_a_non_ascii_exception_id_pages_the_same_both_ways(factory, gql, resolvers_only, api_a):
    for name in ("ÉCHEC-1", "ÉCHEC-2", "ÉCHEC-3"):
        await factory.exception(api_a.tenant_id, name)
    query = "query($after: String) { exceptions(first: 1, after: $after) { edges { cursor node { exceptionId } } } }"
    seen = {}
    for label, client in (("planned", gql), ("resolved", resolvers_only)):
        after, order = None, []
        for _ in range(3):
            edges = (await client.data(query, {"after": after}, key=api_a.viewer))["exceptions"]["edges"]
            order.append(edges[0]["node"]["exceptionId"])
            after = edges[0]["cursor"]
        seen[label] = order
    assert seen["planned"] == seen["resolved"] and sorted(seen["planned"]) == ["ÉCHEC-1", "ÉCHEC-2", "ÉCHEC-3"]
