"""Every acknowledged write is exactly what was asked.

A replay is acknowledged as a replay only when it is the same request; the same event id with a
different request is a Conflict (answering `replayed: true` would acknowledge a write that never
happened). What jsonb rewrites (`1e23` becomes the integer 10^23) is still the same value, so an
identical resend is a no-op. And a write's time is the time it happened, after any lock it
waited for: `resolvedAt` is its own StatusChanged event's time.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from sqlalchemy import text

from tests.api import documents as doc
from tests.api.helpers import create_playbook, ingest, record

pytestmark = pytest.mark.asyncio

STATE = "query($id: String!) { exception(exceptionId: $id) { status owner resolvedAt currentPlaybook { playbookId } } }"
TIMELINE = """query($id: String!) {
  exception(exceptionId: $id) { events(first: 100) { nodes { eventType createdAt payload } } }
}"""


async def change(gql, key: str, document: str, name: str, variables: dict) -> dict:
    return (await gql.data(document, variables, key=key))[name]


async def state(gql, key: str, exception_id: str) -> dict:
    return (await gql.data(STATE, {"id": exception_id}, key=key))["exception"]


async def test_a_transition_replayed_with_another_status_is_a_conflict_and_changes_nothing(gql, api_a):
    await ingest(gql, api_a.operator, "W-1")
    event_id = str(uuid.uuid4())
    first = {"input": {"exceptionId": "W-1", "status": "ANALYZING", "eventId": event_id}}
    second = {"input": {"exceptionId": "W-1", "status": "ESCALATED", "eventId": event_id}}

    await change(gql, api_a.operator, doc.TRANSITION, "transitionException", first)
    replayed = await change(gql, api_a.operator, doc.TRANSITION, "transitionException", first)
    conflicting = await change(gql, api_a.operator, doc.TRANSITION, "transitionException", second)

    assert replayed["__typename"] == "ExceptionEventRecorded"
    assert conflicting["__typename"] == "Conflict"
    assert (await state(gql, api_a.viewer, "W-1"))["status"] == "ANALYZING"


async def test_a_transition_replayed_with_another_reason_is_a_conflict(gql, api_a):
    await ingest(gql, api_a.operator, "W-2")
    event_id = str(uuid.uuid4())
    asked = {"exceptionId": "W-2", "status": "ANALYZING", "eventId": event_id, "reason": "triage"}

    await change(gql, api_a.operator, doc.TRANSITION, "transitionException", {"input": asked})
    conflicting = await change(
        gql, api_a.operator, doc.TRANSITION, "transitionException", {"input": {**asked, "reason": "other"}}
    )

    assert conflicting["__typename"] == "Conflict"


async def test_an_assignment_replayed_with_another_owner_is_a_conflict(gql, api_a):
    await ingest(gql, api_a.operator, "W-3")
    event_id = str(uuid.uuid4())

    await change(
        gql,
        api_a.operator,
        doc.CHANGE,
        "assignException",
        {"assign": {"exceptionId": "W-3", "owner": "ana", "eventId": event_id}},
    )
    replayed = await change(
        gql,
        api_a.operator,
        doc.CHANGE,
        "assignException",
        {"assign": {"exceptionId": "W-3", "owner": "ana", "eventId": event_id}},
    )
    conflicting = await change(
        gql,
        api_a.operator,
        doc.CHANGE,
        "assignException",
        {"assign": {"exceptionId": "W-3", "owner": "bob", "eventId": event_id}},
    )

    assert replayed["replayed"] is True
    assert conflicting["__typename"] == "Conflict"
    assert (await state(gql, api_a.viewer, "W-3"))["owner"] == "ana"


async def test_a_playbook_attachment_replayed_with_another_playbook_is_a_conflict(gql, api_a):
    await ingest(gql, api_a.operator, "W-4")
    one = (await create_playbook(gql, api_a.admin, name="one"))["playbook"]["playbookId"]
    two = (await create_playbook(gql, api_a.admin, name="two"))["playbook"]["playbookId"]
    event_id = str(uuid.uuid4())

    await change(
        gql,
        api_a.operator,
        doc.ATTACH,
        "attachPlaybook",
        {"input": {"exceptionId": "W-4", "playbookId": one, "eventId": event_id}},
    )
    conflicting = await change(
        gql,
        api_a.operator,
        doc.ATTACH,
        "attachPlaybook",
        {"input": {"exceptionId": "W-4", "playbookId": two, "eventId": event_id}},
    )

    assert conflicting["__typename"] == "Conflict"
    assert (await state(gql, api_a.viewer, "W-4"))["currentPlaybook"] == {"playbookId": one}


JSONB_REWRITES = {
    "big": 1e23,
    "huge": 1e308,
    "tiny": 1.5e-10,
    "tenth": 0.1,
    "whole": 2.0,
    "nested": [1e22, {"x": -0.0}],
}


async def test_an_identical_ingest_with_numbers_jsonb_rewrites_is_unchanged(gql, api_a):
    first = await ingest(gql, api_a.operator, "J-1", attributes=JSONB_REWRITES)
    again = await ingest(gql, api_a.operator, "J-1", attributes=JSONB_REWRITES)

    timeline = (await gql.data(TIMELINE, {"id": "J-1"}, key=api_a.viewer))["exception"]["events"]["nodes"]
    assert (first["outcome"], again["outcome"], again["changedFields"]) == ("CREATED", "UNCHANGED", [])
    assert [event["eventType"] for event in timeline] == ["ExceptionCreated"]


async def test_an_identical_event_replay_with_numbers_jsonb_rewrites_is_a_replay(gql, api_a):
    await ingest(gql, api_a.operator, "J-2")
    event_id = str(uuid.uuid4())

    first = await record(gql, api_a.agent, "J-2", "CommentAdded", {"text": "n", **JSONB_REWRITES}, event_id=event_id)
    again = await record(gql, api_a.agent, "J-2", "CommentAdded", {"text": "n", **JSONB_REWRITES}, event_id=event_id)

    assert (first["replayed"], again["__typename"], again["replayed"]) == (False, "ExceptionEventRecorded", True)


async def test_resolved_at_is_the_time_of_its_own_status_change_even_after_waiting_for_the_lock(gql, api_a, factory):
    await ingest(gql, api_a.operator, "L-1")
    async with factory.uow(api_a.tenant_id) as blocker:
        await blocker.exceptions.get_for_update("L-1")  # another writer holds the exception
        resolving = asyncio.create_task(
            change(
                gql,
                api_a.operator,
                doc.TRANSITION,
                "transitionException",
                {"input": {"exceptionId": "L-1", "status": "RESOLVED"}},
            )
        )
        await asyncio.sleep(0.3)
        released = await blocker.scalar(text("SELECT clock_timestamp()"))
    await resolving

    resolved_at = (await state(gql, api_a.viewer, "L-1"))["resolvedAt"]
    events = (await gql.data(TIMELINE, {"id": "L-1"}, key=api_a.viewer))["exception"]["events"]["nodes"]
    [status_changed] = [event for event in events if event["eventType"] == "StatusChanged"]
    assert resolved_at == status_changed["createdAt"]
    assert datetime.fromisoformat(resolved_at) > released


async def test_an_integer_of_401_digits_is_stored_and_read_back_exactly(gql, api_a):
    huge = int("9" * 401)
    ingested = await ingest(gql, api_a.operator, "W-NUM-1", attributes={"n": huge, "neg": -huge})

    read = await gql.data('{ exception(exceptionId: "W-NUM-1") { attributes } }', key=api_a.viewer)

    assert ingested["__typename"] == "IngestExceptionSuccess", ingested
    assert read["exception"]["attributes"] == {"n": huge, "neg": -huge}


async def test_a_replay_of_an_event_holding_a_23_digit_integer_is_a_replay_not_a_conflict(gql, api_a):
    await ingest(gql, api_a.operator, "W-NUM-2")
    item = {
        "eventId": str(uuid.uuid4()),
        "exceptionId": "W-NUM-2",
        "eventType": "CommentAdded",
        "payload": {"text": "big", "n": 12345678901234567890123, "x": 1.50, "tiny": 5e-324},
    }

    first = await change(gql, api_a.agent, doc.RECORD, "recordExceptionEvent", {"input": item})
    again = await change(gql, api_a.agent, doc.RECORD, "recordExceptionEvent", {"input": item})

    assert first["__typename"] == again["__typename"] == "ExceptionEventRecorded", again
    assert again["replayed"] is True
    assert again["event"]["payload"]["n"] == 12345678901234567890123
