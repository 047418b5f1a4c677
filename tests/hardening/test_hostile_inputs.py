"""Bad input gets a clear error naming the field and loses nothing.

Each test is a value a hostile or careless client sent that used to reach PostgreSQL and come
back INTERNAL (or be stored and then break every later read). Now each is VALIDATION_FAILED,
naming where the value sits, or is accepted and read back exactly.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.api import documents as doc
from tests.api.helpers import create_playbook, exception_input, ingest, record

pytestmark = pytest.mark.asyncio

LIST_AFTER = "query($after: String) { exceptions(after: $after) { totalCount nodes { exceptionId } } }"
EVENTS_AFTER = """query($id: String!, $after: String) {
  exception(exceptionId: $id) { events(after: $after) { totalCount nodes { eventType } } }
}"""


async def raw(gql, key: str, body: bytes) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = await gql.http.post("/graphql", content=body, headers=headers)
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


def refused(body: dict, field: str) -> str:
    """The request was refused before anything ran, naming `field`; returns the message."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    assert error["extensions"]["field"] == field, error
    return error["message"]


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


async def exception_count(gql, key: str) -> int:
    return (await gql.data("{ exceptions { totalCount nodes { exceptionId } } }", key=key))["exceptions"]["totalCount"]


# -- text PostgreSQL cannot hold


async def test_a_lone_surrogate_in_a_write_is_refused_naming_the_field_and_writes_nothing(gql, api_a):
    body = json.dumps({"query": doc.INGEST, "variables": {"input": exception_input("S-1", summary="x\ud800y")}})

    status, answer = await raw(gql, api_a.operator, body.encode())

    assert status == 200
    assert "lone surrogate" in refused(answer, "input.summary")
    assert await exception_count(gql, api_a.viewer) == 0


async def test_a_lone_surrogate_in_a_read_argument_is_refused(gql, api_a):
    body = json.dumps(
        {"query": "query($id: String!) { exception(exceptionId: $id) { id } }", "variables": {"id": "\udfff"}}
    )

    _, answer = await raw(gql, api_a.viewer, body.encode())

    refused(answer, "id")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('{ exception(exceptionId: "a\\u0000b") { id } }', "exceptionId"),
        ('{ exceptions(filter: {owner: "\\u0000"}) { totalCount } }', "filter.owner"),
        ('{ exceptions(filter: {status: [OPEN], entity: "E\\u0000"}) { totalCount } }', "filter.entity"),
        ('{ entityHistory(entity: "\\u0000") { totalCount } }', "entity"),
        ('{ auditLog(filter: {actor: "\\u0000"}) { totalCount } }', "filter.actor"),
        ('{ exception(exceptionId: "X") { events(eventTypes: ["A", "\\u0000"]) { totalCount } } }', "eventTypes[1]"),
    ],
)
async def test_a_nul_in_a_read_argument_is_refused_naming_it(gql, api_a, query, field):
    _, answer = await raw(gql, api_a.viewer, json.dumps({"query": query}).encode())

    assert "NUL" in refused(answer, field)


async def test_a_nul_in_a_variable_is_refused_naming_it(gql, api_a):
    variables = {"filter": {"domain": "Fin\x00ance"}}
    body = json.dumps(
        {
            "query": "query($filter: ExceptionFilter) { exceptions(filter: $filter) { totalCount } }",
            "variables": variables,
        }
    )

    _, answer = await raw(gql, api_a.viewer, body.encode())

    refused(answer, "filter.domain")


# -- numbers that are not JSON numbers


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_nan_and_infinity_in_json_inputs_are_refused_naming_the_field(gql, api_a, constant):
    await ingest(gql, api_a.operator, "N-1")
    event = {"eventId": str(uuid.uuid4()), "exceptionId": "N-1", "eventType": "TriageCompleted"}
    body = '{"query": %s, "variables": {"input": %s}}' % (
        json.dumps(doc.RECORD),
        json.dumps(event)[:-1] + ', "payload": {"severity": "HIGH", "confidence": %s}}' % constant,
    )

    _, answer = await raw(gql, api_a.agent, body.encode())

    assert "finite" in refused(answer, "input.payload.confidence")
    timeline = await gql.data(doc.DETAIL, {"id": "N-1"}, key=api_a.viewer)
    assert [edge["node"]["eventType"] for edge in timeline["exception"]["events"]["edges"]] == ["ExceptionCreated"]


async def test_nan_inside_attributes_is_refused(gql, api_a):
    fields = json.dumps(exception_input("N-2"))[:-1] + ', "attributes": {"nested": [1, {"x": NaN}]}}'
    body = '{"query": %s, "variables": {"input": %s}}' % (json.dumps(doc.INGEST), fields)

    _, answer = await raw(gql, api_a.operator, body.encode())

    refused(answer, "input.attributes.nested[1].x")


async def test_a_float_literal_that_overflows_is_refused(gql, api_a):
    mutation = (
        'mutation { proposeRemediationPlan(input: {exceptionId: "X", rootCause: "r", confidence: 1e400, '
        'actionType: "a", riskLevel: LOW}) { __typename } }'
    )

    _, answer = await raw(gql, api_a.agent, json.dumps({"query": mutation}).encode())

    refused(answer, "input.confidence")


# -- forged cursors


@pytest.mark.parametrize(
    "forged",
    [
        cursor("newest", "2026-01-01T00:00:00+00:00", "A\u0000B"),
        cursor("newest", "2026-01-01T00:00:00+00:00", "\ud800"),
        cursor("newest", "0001-01-01T00:00:00+00:00", "A"),
        cursor("newest", "9999-12-31T23:59:59.999999+00:00", "A"),
        cursor("newest", "0001-01-01T00:30:00+01:00", "A"),
        cursor("newest", "NaN", "A"),
    ],
)
async def test_a_forged_cursor_is_refused_as_not_a_cursor_on_both_read_paths(gql, api_a, forged):
    await ingest(gql, api_a.operator, "C-1")

    listed = await gql.errors(LIST_AFTER, {"after": forged}, key=api_a.viewer)
    nested = await gql.errors(
        EVENTS_AFTER, {"id": "C-1", "after": forged.replace("newest", "timeline")}, key=api_a.viewer
    )

    for errors in (listed, nested):
        assert [error["extensions"]["code"] for error in errors] == ["VALIDATION_FAILED"]
        assert errors[0]["message"] == "after: is not a cursor returned by this list"


# -- identifiers


async def test_global_ids_must_be_canonical(gql, api_a):
    playbook = (await create_playbook(gql, api_a.admin))["playbook"]
    canonical = base64.b64encode(f"Playbook:{playbook['playbookId']}".encode()).decode()
    spellings = ["Playbook:١", "Playbook:0" + str(playbook["playbookId"]), "Tool:²", "Playbook:+1", "Exception:a\u0000"]

    answers = [
        await gql.data(
            "query($id: ID!) { node(id: $id) { id } }", {"id": base64.b64encode(s.encode()).decode()}, key=api_a.viewer
        )
        for s in spellings
    ]
    found = await gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": canonical}, key=api_a.viewer)

    assert answers == [{"node": None}] * len(spellings)
    assert found["node"] is not None


async def test_a_zero_playbook_id_in_a_state_change_is_refused(gql, api_a):
    await ingest(gql, api_a.operator, "P-1")

    result = await record(gql, api_a.agent, "P-1", "CommentAdded", {"text": "x"}, {"playbookId": 0})

    assert result["__typename"] == "ValidationFailed"
    assert result["field"] == "stateChange.playbookId"


# -- JSON bodies


async def test_a_json_body_nested_a_thousand_levels_is_a_400_json_error(gql, api_a):
    body = b'{"query": "{ viewer { role } }", "variables": {"x": ' + b"[" * 1000 + b"]" * 1000 + b"}}"

    status, answer = await raw(gql, api_a.viewer, body)

    assert status == 400
    assert "nested deeper" in answer["errors"][0]["message"]


# -- instants


@pytest.mark.parametrize(
    "deadline",
    ["9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"],
)
async def test_instants_outside_the_calendar_are_refused_at_ingest(gql, api_a, deadline):
    result = (await gql.data(doc.INGEST, {"input": exception_input("T-1", slaDeadline=deadline)}, key=api_a.operator))[
        "ingestException"
    ]

    assert result["__typename"] == "ValidationFailed"
    assert result["field"] == "slaDeadline"
    assert await exception_count(gql, api_a.viewer) == 0


@pytest.mark.parametrize("created", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.999999Z"])
async def test_instants_outside_the_calendar_are_refused_in_filters(gql, api_a, created):
    errors = await gql.errors(
        "query($f: ExceptionFilter) { exceptions(filter: $f) { totalCount } }",
        {"f": {"createdFrom": created}},
        key=api_a.viewer,
    )

    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert errors[0]["extensions"]["field"] == "filter.createdFrom"


async def test_the_calendars_accepted_ends_are_stored_and_read_back_exactly(gql, api_a):
    for exception_id, deadline in (("E-1", "0001-01-02T00:00:00+00:00"), ("E-2", "9999-12-30T23:59:59.999999+00:00")):
        await ingest(gql, api_a.operator, exception_id, slaDeadline=deadline)
        again = await ingest(gql, api_a.operator, exception_id, slaDeadline=deadline)
        read = await gql.data(
            "query($id: String!) { exception(exceptionId: $id) { slaDeadline sla { state } } }",
            {"id": exception_id},
            key=api_a.viewer,
        )
        assert again["outcome"] == "UNCHANGED"
        assert read["exception"]["slaDeadline"] == deadline
    listed = await gql.data(
        "{ exceptions(orderBy: SLA_DEADLINE) { nodes { exceptionId sla { state } } } }", key=api_a.viewer
    )
    assert [node["exceptionId"] for node in listed["exceptions"]["nodes"]] == ["E-1", "E-2"]


async def test_seconds_remaining_beyond_32_bits_are_answered(gql, api_a):
    await ingest(gql, api_a.operator, "R-1", slaDeadline="2100-01-01T00:00:00Z")

    data = await gql.data('{ exception(exceptionId: "R-1") { sla { remaining state } } }', key=api_a.viewer)

    assert data["exception"]["sla"]["remaining"] > 2**31
    assert data["exception"]["sla"]["state"] == "ON_TRACK"


# -- packs


@pytest.mark.parametrize(
    ("pack", "field"),
    [
        ({"sla": "strict"}, "pack.sla"),
        ({"sla": [1]}, "pack.sla"),
        ({"sla": 5}, "pack.sla"),
        ({"sla": {"atRiskHours": 4}}, "pack.sla.atRiskHours"),
        ({"sla": {"atRiskMinutes": -1}}, "pack.sla.atRiskMinutes"),
        ({"sla": {"atRiskMinutes": "60"}}, "pack.sla.atRiskMinutes"),
    ],
)
async def test_a_policy_pack_that_breaks_its_declared_shape_is_refused(gql, api_a, pack, field):
    await ingest(gql, api_a.operator, "K-1")

    result = (await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": pack}}, key=api_a.admin))["publishPolicyPack"]
    sla = await gql.data('{ exception(exceptionId: "K-1") { sla { state } } policyPack { version } }', key=api_a.viewer)

    assert result["__typename"] == "ValidationFailed"
    assert result["field"] == field
    assert sla == {"exception": {"sla": {"state": "ON_TRACK"}}, "policyPack": None}
