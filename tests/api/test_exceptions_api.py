"""Exceptions through the API: ingestion, the timeline pattern, workflow changes and reads."""

import uuid

import pytest

from tests.api import documents as doc
from tests.api.helpers import create_playbook, ingest, record

pytestmark = pytest.mark.asyncio


async def test_ingesting_creates_then_reports_unchanged_then_updated(gql, api_a):
    assert (await ingest(gql, api_a.operator, "EXC-1"))["outcome"] == "CREATED"
    assert (await ingest(gql, api_a.operator, "EXC-1"))["outcome"] == "UNCHANGED"
    updated = await ingest(gql, api_a.operator, "EXC-1", amount="999.00")
    assert (updated["outcome"], updated["changedFields"], updated["exception"]["amount"]) == (
        "UPDATED",
        ["amount"],
        "999.00",
    )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"domain": "  "}, "domain"),
        ({"exceptionId": "bad id with spaces"}, "exceptionId"),
        ({"amount": "1e20"}, "amount"),
        ({"attributes": [1, 2]}, "attributes"),
        ({"slaDeadline": "2030-01-01T00:00:00"}, "slaDeadline"),
        ({"summary": "x" * 10_001}, "summary"),
    ],
)
async def test_invalid_ingestion_names_the_field_and_stores_nothing(gql, api_a, overrides, field):
    result = await ingest(gql, api_a.operator, "EXC-BAD", **overrides)
    assert (result["__typename"], result["field"]) == ("ValidationFailed", field)
    assert (await gql.data(doc.DETAIL, {"id": "EXC-BAD"}, key=api_a.viewer))["exception"] is None


async def test_a_recorded_event_applies_its_state_change_and_its_replay_returns_the_original(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-2")
    event_id = str(uuid.uuid4())
    first = await record(
        gql,
        api_a.agent,
        "EXC-2",
        "TriageCompleted",
        {"severity": "CRITICAL"},
        {"severity": "CRITICAL", "status": "ANALYZING"},
        event_id,
    )
    replay = await record(
        gql,
        api_a.agent,
        "EXC-2",
        "TriageCompleted",
        {"severity": "CRITICAL"},
        {"severity": "CRITICAL", "status": "ANALYZING"},
        event_id,
    )
    assert first["replayed"] is False and replay["replayed"] is True
    assert replay["event"] == first["event"]
    assert first["exception"]["status"] == "ANALYZING" and first["exception"]["severity"] == "CRITICAL"
    assert first["event"]["actorType"] == "AGENT"
    detail = await gql.data(doc.DETAIL, {"id": "EXC-2"}, key=api_a.viewer)
    assert [e["node"]["eventType"] for e in detail["exception"]["events"]["edges"]] == [
        "ExceptionCreated",
        "TriageCompleted",
    ]


async def test_copilot_questions_and_answers_are_recorded_on_the_timeline(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-CP")
    asked = await record(gql, api_a.agent, "EXC-CP", "CopilotQuestionAsked", {"question": "Seen this before?"})
    answered = await record(
        gql,
        api_a.agent,
        "EXC-CP",
        "CopilotAnswerGiven",
        {"answer": "Yes, twice", "questionEventId": asked["event"]["eventId"]},
    )
    assert answered["__typename"] == "ExceptionEventRecorded"


@pytest.mark.parametrize(
    "event_type, payload, field",
    [
        ("TriageCompleted", {}, "payload.severity"),
        ("CopilotAnswerGiven", {"answer": 42}, "payload.answer"),
        ("NoSuchEvent", {}, "eventType"),
        ("RemediationPlanDecided", {"planId": 1, "decision": "APPROVED"}, "eventType"),
        ("StatusChanged", {"from": "OPEN", "to": "RESOLVED"}, "eventType"),
    ],
)
async def test_an_invalid_event_names_the_field(gql, api_a, event_type, payload, field):
    await ingest(gql, api_a.operator, "EXC-3")
    result = await record(gql, api_a.agent, "EXC-3", event_type, payload)
    assert (result["__typename"], result["field"]) == ("ValidationFailed", field)


async def test_workflow_changes_go_through_the_timeline(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-4")
    playbook = (await create_playbook(gql, api_a.admin, steps=2))["playbook"]
    assigned = (await gql.data(doc.CHANGE, {"assign": {"exceptionId": "EXC-4", "owner": "alice"}}, key=api_a.operator))[
        "assignException"
    ]
    assert assigned["exception"]["owner"] == "alice" and assigned["event"]["eventType"] == "ExceptionAssigned"
    attached = (
        await gql.data(
            doc.ATTACH, {"input": {"exceptionId": "EXC-4", "playbookId": playbook["playbookId"]}}, key=api_a.operator
        )
    )["attachPlaybook"]
    assert attached["exception"]["currentStep"] == {"stepOrder": 1, "name": "step 1"}
    advanced = (await gql.data(doc.ADVANCE, {"input": {"exceptionId": "EXC-4"}}, key=api_a.operator))[
        "advancePlaybookStep"
    ]
    assert advanced["exception"]["currentStepOrder"] == 2
    past_end = (await gql.data(doc.ADVANCE, {"input": {"exceptionId": "EXC-4"}}, key=api_a.operator))[
        "advancePlaybookStep"
    ]
    assert past_end["__typename"] == "ValidationFailed"
    resolved = (
        await gql.data(
            doc.TRANSITION,
            {"input": {"exceptionId": "EXC-4", "status": "RESOLVED", "reason": "fixed"}},
            key=api_a.operator,
        )
    )["transitionException"]
    assert resolved["exception"]["status"] == "RESOLVED" and resolved["exception"]["resolvedAt"]


async def test_an_invalid_transition_is_a_typed_failure_that_writes_nothing(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-5")
    await gql.data(doc.TRANSITION, {"input": {"exceptionId": "EXC-5", "status": "RESOLVED"}}, key=api_a.operator)
    result = (
        await gql.data(doc.TRANSITION, {"input": {"exceptionId": "EXC-5", "status": "ESCALATED"}}, key=api_a.operator)
    )["transitionException"]
    assert (result["__typename"], result["fromState"], result["toState"]) == (
        "InvalidTransition",
        "RESOLVED",
        "ESCALATED",
    )
    detail = await gql.data(doc.DETAIL, {"id": "EXC-5"}, key=api_a.viewer)
    assert detail["exception"]["events"]["totalCount"] == 2


async def test_attaching_a_missing_playbook_is_not_found(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-6")
    result = (
        await gql.data(doc.ATTACH, {"input": {"exceptionId": "EXC-6", "playbookId": 999999999}}, key=api_a.operator)
    )["attachPlaybook"]
    assert result["__typename"] == "NotFound"


async def test_advancing_without_a_playbook_is_a_validation_failure(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-7")
    result = (await gql.data(doc.ADVANCE, {"input": {"exceptionId": "EXC-7"}}, key=api_a.operator))[
        "advancePlaybookStep"
    ]
    assert (result["__typename"], result["field"]) == ("ValidationFailed", "exceptionId")


async def _seed_list(gql, key):
    specs = [
        ("L-1", "LOW", "Finance", "Murex"),
        ("L-2", "CRITICAL", "Finance", "Calypso"),
        ("L-3", "MEDIUM", "Healthcare", "Epic"),
        ("L-4", "HIGH", "Finance", "Murex"),
        ("L-5", "CRITICAL", "Healthcare", "Epic"),
        ("L-6", "LOW", "Finance", "Murex"),
        ("L-7", "HIGH", "Finance", "Murex"),
    ]
    for index, (exception_id, severity, domain, source) in enumerate(specs):
        await ingest(
            gql,
            key,
            exception_id,
            severity=severity,
            domain=domain,
            sourceSystem=source,
            slaDeadline=f"2030-01-0{7 - index}T00:00:00+00:00",
        )


async def test_the_list_pages_by_keyset_without_gaps_or_repeats_in_every_order(gql, api_a):
    await _seed_list(gql, api_a.operator)
    for order in ("NEWEST", "OLDEST", "SLA_DEADLINE", "SEVERITY"):
        seen, after = [], None
        while True:
            page = (await gql.data(doc.LIST, {"order": order, "first": 3, "after": after}, key=api_a.viewer))[
                "exceptions"
            ]
            seen += [node["exceptionId"] for node in page["nodes"]]
            assert page["totalCount"] == 7
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert sorted(seen) == [f"L-{n}" for n in range(1, 8)], order
        if order == "NEWEST":
            assert seen == [f"L-{n}" for n in range(7, 0, -1)]
        if order == "SLA_DEADLINE":
            assert seen == [f"L-{n}" for n in range(7, 0, -1)]
        if order == "SEVERITY":
            assert seen[:2] == ["L-5", "L-2"]


@pytest.mark.parametrize(
    "filter, expected",
    [
        ({"domain": "Healthcare"}, {"L-3", "L-5"}),
        ({"severity": ["CRITICAL", "HIGH"]}, {"L-2", "L-4", "L-5", "L-7"}),
        ({"sourceSystem": "Murex", "severity": ["LOW"]}, {"L-1", "L-6"}),
        ({"status": ["RESOLVED"]}, set()),
        ({"entity": "CPTY-1", "type": "SettlementFailure", "domain": "Finance", "sourceSystem": "Calypso"}, {"L-2"}),
        ({"createdFrom": "2000-01-01T00:00:00+00:00", "createdTo": "2001-01-01T00:00:00+00:00"}, set()),
    ],
)
async def test_the_list_filters_on_every_field(gql, api_a, filter, expected):
    await _seed_list(gql, api_a.operator)
    page = (await gql.data(doc.LIST, {"filter": filter, "first": 100}, key=api_a.viewer))["exceptions"]
    assert {node["exceptionId"] for node in page["nodes"]} == expected
    assert page["totalCount"] == len(expected)


async def test_filtering_by_owner(gql, api_a):
    await _seed_list(gql, api_a.operator)
    await gql.data(doc.CHANGE, {"assign": {"exceptionId": "L-3", "owner": "bob"}}, key=api_a.operator)
    page = (await gql.data(doc.LIST, {"filter": {"owner": "bob"}}, key=api_a.viewer))["exceptions"]
    assert [node["exceptionId"] for node in page["nodes"]] == ["L-3"]


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"first": 101}, "at most 100"),
        ({"first": -1}, "negative"),
        ({"after": "not-a-cursor"}, "not a cursor"),
    ],
)
async def test_bad_paging_arguments_get_clear_errors(gql, api_a, variables, message):
    errors = await gql.errors(doc.LIST, variables, key=api_a.viewer)
    assert message in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_a_cursor_from_one_ordering_is_refused_by_another(gql, api_a):
    await _seed_list(gql, api_a.operator)
    cursor = (await gql.data(doc.LIST, {"first": 1}, key=api_a.viewer))["exceptions"]["pageInfo"]["endCursor"]
    errors = await gql.errors(doc.LIST, {"order": "SEVERITY", "after": cursor}, key=api_a.viewer)
    assert "not a cursor" in errors[0]["message"]


async def test_the_timeline_pages_and_filters(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-T")
    for n in range(5):
        await record(gql, api_a.operator, "EXC-T", "CommentAdded", {"text": f"c{n}"})
    query = """query($after: String, $types: [String!], $actor: ActorType) { exception(exceptionId: "EXC-T") {
      events(first: 2, after: $after, eventTypes: $types, actorType: $actor) {
        totalCount nodes { eventType payload } pageInfo { hasNextPage endCursor } } } }"""
    texts, after = [], None
    while True:
        events = (await gql.data(query, {"after": after, "types": ["CommentAdded"]}, key=api_a.viewer))["exception"][
            "events"
        ]
        texts += [node["payload"]["text"] for node in events["nodes"]]
        if not events["pageInfo"]["hasNextPage"]:
            break
        after = events["pageInfo"]["endCursor"]
    assert texts == [f"c{n}" for n in range(5)] and events["totalCount"] == 5
    by_agents = (await gql.data(query, {"actor": "AGENT"}, key=api_a.viewer))["exception"]["events"]
    assert by_agents["totalCount"] == 0


async def test_the_timeline_can_be_read_newest_first(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-NF")
    for n in range(3):
        await record(gql, api_a.operator, "EXC-NF", "CommentAdded", {"text": f"c{n}"})
    query = '{ exception(exceptionId: "EXC-NF") { events(first: 2, order: NEWEST_FIRST) { nodes { payload } } } }'
    nodes = (await gql.data(query, key=api_a.viewer))["exception"]["events"]["nodes"]
    assert [node["payload"]["text"] for node in nodes] == ["c2", "c1"]


async def test_retrying_a_workflow_change_with_its_event_id_returns_the_original(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-RETRY")
    event_id = str(uuid.uuid4())
    variables = {"input": {"exceptionId": "EXC-RETRY", "status": "ESCALATED", "eventId": event_id}}
    first = (await gql.data(doc.TRANSITION, variables, key=api_a.operator))["transitionException"]
    retry = (await gql.data(doc.TRANSITION, variables, key=api_a.operator))["transitionException"]
    assert first["__typename"] == retry["__typename"] == "ExceptionEventRecorded"
    assert retry["event"] == first["event"]
    reused = (
        await gql.data(
            doc.CHANGE, {"assign": {"exceptionId": "EXC-RETRY", "owner": "x", "eventId": event_id}}, key=api_a.operator
        )
    )["assignException"]
    assert reused["__typename"] == "Conflict"


async def test_a_transition_to_the_current_status_is_refused(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-SAME-STATUS")
    result = (
        await gql.data(
            doc.TRANSITION, {"input": {"exceptionId": "EXC-SAME-STATUS", "status": "OPEN"}}, key=api_a.operator
        )
    )["transitionException"]
    assert (result["__typename"], result["field"]) == ("ValidationFailed", "status")


async def test_a_replay_with_a_different_state_change_is_a_conflict(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-SC")
    event_id = str(uuid.uuid4())
    await record(gql, api_a.agent, "EXC-SC", "CommentAdded", {"text": "x"}, {"owner": "a"}, event_id)
    other = await record(gql, api_a.agent, "EXC-SC", "CommentAdded", {"text": "x"}, {"owner": "b"}, event_id)
    assert other["__typename"] == "Conflict"


async def test_null_for_an_argument_with_a_default_means_the_default(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-NULL-1")
    await ingest(gql, api_a.operator, "EXC-NULL-2")
    query = """query($order: ExceptionOrder, $events: TimelineOrder) {
      exceptions(orderBy: $order) { nodes { exceptionId events(order: $events) { nodes { eventType } } } } }"""

    given_null = await gql.data(query, {"order": None, "events": None}, key=api_a.viewer)
    defaulted = await gql.data(query, {}, key=api_a.viewer)

    assert given_null == defaulted
    assert [n["exceptionId"] for n in given_null["exceptions"]["nodes"]] == ["EXC-NULL-2", "EXC-NULL-1"]
