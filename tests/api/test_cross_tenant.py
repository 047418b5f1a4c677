"""Cross-tenant probes: another tenant's objects read exactly like objects that do not exist."""

import base64
import json

import pytest
import pytest_asyncio

from tests.api import documents as doc
from tests.api.helpers import create_playbook, exception_input, ingest, propose, record

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def b_world(gql, api_b):
    """Tenant B's objects, with the same natural ids tenant A will probe for."""
    await ingest(gql, api_b.operator, "EXC-SAME", summary="B's secret summary")
    await ingest(gql, api_b.operator, "EXC-B-ONLY", summary="B only")
    playbook = (await create_playbook(gql, api_b.admin, "b-playbook"))["playbook"]
    plan = (await propose(gql, api_b.agent, "EXC-B-ONLY"))["plan"]
    event = await record(gql, api_b.agent, "EXC-B-ONLY", "CommentAdded", {"text": "B's note"})
    return {"playbook": playbook, "plan": plan, "event": event["event"]}


def _global_id(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def test_reads_of_another_tenants_objects_match_reads_of_missing_ones(gql, api_a, b_world):
    await ingest(gql, api_a.operator, "EXC-SAME", summary="A's summary")
    for exception_id, expected in (("EXC-B-ONLY", None), ("NEVER-EXISTED", None)):
        assert (await gql.data(doc.DETAIL, {"id": exception_id}, key=api_a.viewer))["exception"] is expected
    own = (await gql.data(doc.DETAIL, {"id": "EXC-SAME"}, key=api_a.viewer))["exception"]
    assert own["summary"] == "A's summary" and own["events"]["totalCount"] == 1
    listed = await gql.data(doc.LIST, {"first": 100}, key=api_a.viewer)
    assert [n["exceptionId"] for n in listed["exceptions"]["nodes"]] == ["EXC-SAME"]


async def test_node_returns_null_for_every_kind_of_another_tenants_id(gql, api_a, b_world):
    probes = {
        "Exception": "EXC-B-ONLY",
        "Playbook": str(b_world["playbook"]["playbookId"]),
        "RemediationPlan": str(b_world["plan"]["planId"]),
        "ExceptionEvent": b_world["event"]["eventId"],
        "PlaybookStep": "1",
        "Tool": "1",
        "AuditEntry": "1",
        "PolicyPack": "1",
        "ApiKey": "00000000-0000-0000-0000-000000000000",
    }
    for type_name, key in probes.items():
        data = await gql.data(
            "query($id: ID!) { node(id: $id) { id } }", {"id": _global_id(type_name, key)}, key=api_a.viewer
        )
        assert data["node"] is None, type_name
    own = await ingest(gql, api_a.operator, "EXC-A-NODE")
    found = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Exception { exceptionId } } }",
        {"id": own["exception"]["id"]},
        key=api_a.viewer,
    )
    assert found["node"] == {"exceptionId": "EXC-A-NODE"}


@pytest.mark.parametrize(
    "bad_id", ["%%%", base64.b64encode(b"NoSuchType:1").decode(), base64.b64encode(b"nocolon").decode()]
)
async def test_a_malformed_global_id_gets_a_clear_error(gql, api_a, bad_id):
    errors = await gql.errors("query($id: ID!) { node(id: $id) { id } }", {"id": bad_id}, key=api_a.viewer)
    assert "not a valid global id" in errors[0]["message"]


async def test_mutations_on_another_tenants_objects_answer_not_found_like_missing_ones(gql, api_a, b_world):
    plan_id, playbook_id = b_world["plan"]["planId"], b_world["playbook"]["playbookId"]
    for target in ("EXC-B-ONLY", "NEVER-EXISTED"):
        answers = [
            (await record(gql, api_a.agent, target, "CommentAdded", {"text": "probe"}))["__typename"],
            (await gql.data(doc.CHANGE, {"assign": {"exceptionId": target, "owner": "x"}}, key=api_a.operator))[
                "assignException"
            ]["__typename"],
            (
                await gql.data(
                    doc.TRANSITION, {"input": {"exceptionId": target, "status": "RESOLVED"}}, key=api_a.operator
                )
            )["transitionException"]["__typename"],
            (await gql.data(doc.ADVANCE, {"input": {"exceptionId": target}}, key=api_a.operator))[
                "advancePlaybookStep"
            ]["__typename"],
            (await propose(gql, api_a.agent, target))["__typename"],
        ]
        assert answers == ["NotFound"] * 5, target
    for plan in (plan_id, 999_999_999):
        approve = (await gql.data(doc.APPROVE, {"input": {"planId": plan}}, key=api_a.operator))[
            "approveRemediationPlan"
        ]
        outcome = (await gql.data(doc.OUTCOME, {"input": {"planId": plan, "outcome": "FAILED"}}, key=api_a.agent))[
            "recordRemediationOutcome"
        ]
        assert (approve["__typename"], outcome["__typename"]) == ("NotFound", "NotFound")
        assert str(plan) in approve["message"]
    await ingest(gql, api_a.operator, "EXC-A-ATTACH")
    attach = (
        await gql.data(
            doc.ATTACH, {"input": {"exceptionId": "EXC-A-ATTACH", "playbookId": playbook_id}}, key=api_a.operator
        )
    )["attachPlaybook"]
    assert attach["__typename"] == "NotFound"


async def test_ingesting_a_colliding_exception_id_never_touches_the_other_tenant(gql, api_a, api_b, b_world):
    created = await ingest(gql, api_a.operator, "EXC-B-ONLY", summary="A's own")
    assert created["outcome"] == "CREATED"
    b_view = (await gql.data(doc.DETAIL, {"id": "EXC-B-ONLY"}, key=api_b.viewer))["exception"]
    assert b_view["summary"] == "B only"


async def test_filters_cannot_reach_another_tenant(gql, api_a, b_world):
    for filter in (
        {"entity": "CPTY-1"},
        {"domain": "Finance"},
        {"status": ["OPEN", "ANALYZING", "ESCALATED", "RESOLVED"]},
    ):
        data = await gql.data(doc.LIST, {"filter": filter, "first": 100}, key=api_a.viewer)
        assert data["exceptions"]["totalCount"] == 0


async def test_there_is_no_argument_that_names_a_tenant_on_tenant_fields(gql, api_a):
    from sentinai.api.schema import schema

    platform_fields = {"tenants", "createTenant", "setTenantStatus", "node", "viewer"}
    for root in (schema.schema_converter.type_map["Query"], schema.schema_converter.type_map["Mutation"]):
        for field in root.definition.fields:
            if field.python_name in platform_fields or field.graphql_name in platform_fields:
                continue
            names = {argument.python_name.lower() for argument in field.arguments}
            assert not any("tenant" in name for name in names), field.graphql_name
    body = exception_input("EXC-TENANT-SMUGGLE")
    body["tenantId"] = "someone-else"
    errors = await gql.errors(doc.INGEST, {"input": body}, key=api_a.operator)
    assert "tenantId" in errors[0]["message"]


async def test_node_applies_the_same_role_rules_as_the_list_fields(gql, api_a):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "bot", "role": "AGENT"}}, key=api_a.admin))[
        "createApiKey"
    ]
    key_node = _global_id("ApiKey", made["apiKey"]["keyId"])
    query = "query($id: ID!) { node(id: $id) { ... on ApiKey { name } } }"
    assert (await gql.data(query, {"id": key_node}, key=api_a.admin))["node"] == {"name": "bot"}
    assert (await gql.data(query, {"id": key_node}, key=api_a.viewer))["node"] is None
    exception = (await ingest(gql, api_a.operator, "EXC-PLATFORM-NODE"))["exception"]
    assert (await gql.data(query, {"id": exception["id"]}, key=gql.admin_token))["node"] is None


@pytest.mark.parametrize("type_name", ["Query", "PageInfo", "Viewer"])
async def test_node_refuses_types_that_are_not_nodes(gql, api_a, type_name):
    errors = await gql.errors(
        "query($id: ID!) { node(id: $id) { id } }", {"id": _global_id(type_name, "1")}, key=api_a.viewer
    )
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize(
    "cursor_values", [["audit", "2026-01-01T00:00:00+00:00", 10**30], ["audit", "2026-01-01T00:00:00", 1]]
)
async def test_forged_cursors_are_refused_clearly(gql, api_a, cursor_values):
    forged = base64.urlsafe_b64encode(json.dumps(cursor_values).encode()).decode().rstrip("=")
    errors = await gql.errors(
        "query($a: String) { auditLog(after: $a) { totalCount } }", {"a": forged}, key=api_a.viewer
    )
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_a_revoked_key_stops_working_at_once_even_with_the_credential_cache_on(gql, runtime, api_a):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "short-lived", "role": "VIEWER"}}, key=api_a.admin))[
        "createApiKey"
    ]
    runtime.authenticator._cache_seconds = 60.0
    try:
        await gql.data("{ viewer { role } }", key=made["secret"])
        await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin)
        await gql.post("{ viewer { role } }", key=made["secret"], status=401)
    finally:
        runtime.authenticator._cache_seconds = 0.0
