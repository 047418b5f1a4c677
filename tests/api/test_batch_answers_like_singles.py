"""A batch answers each item exactly as its single mutation answers it: the same items are sent one
by one to one tenant and as one batch to another that holds the same exceptions and events (event
ids are the tenant's own, so both can use the same ones). Only instants differ between the two."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import documents as doc
from tests.api.helpers import event_item, exception_input, ingest, record

pytestmark = pytest.mark.asyncio

RECORDED = """replayed event { eventId eventType actorType payload }
  exception { exceptionId status severity owner currentStepOrder amount attributes }"""
INGESTED = """outcome changedFields exception {
  exceptionId domain type severity status amount attributes summary slaDeadline domainPackVersion policyPackVersion }"""
ANSWER = "__typename ... on %s { %s } %s"
RECORD_ONE = "mutation($input: RecordExceptionEventInput!) { recordExceptionEvent(input: $input) { %s } }"
RECORD_BATCH = """mutation($input: RecordExceptionEventsInput!) {
  recordExceptionEvents(input: $input) { ... on ExceptionEventsRecorded { results { %s } } } }"""
INGEST_ONE = "mutation($input: IngestExceptionInput!) { ingestException(input: $input) { %s } }"
INGEST_BATCH = """mutation($input: IngestExceptionsInput!) {
  ingestExceptions(input: $input) { ... on IngestExceptionsSuccess { results { %s } } } }"""
RECORDED_ANSWER = ANSWER % ("ExceptionEventRecorded", RECORDED, doc.ERRORS)
INGESTED_ANSWER = ANSWER % ("IngestExceptionSuccess", INGESTED, doc.ERRORS)

STORED = str(uuid.uuid4())
FIRST = str(uuid.uuid4())


async def one_by_one(gql, key: str, document: str, field: str, items: list[dict]) -> list[dict]:
    return [(await gql.data(document, {"input": i}, key=key))[field] for i in items]


async def as_a_batch(gql, key: str, document: str, field: str, items: list[dict]) -> list[dict]:
    return (await gql.data(document, {"input": {"items": items}}, key=key))[field]["results"]


async def _same_world(gql, api) -> None:
    for exception_id in ("TW-1", "TW-2", "TW-3"):
        await ingest(gql, api.operator, exception_id)
    await ingest(gql, api.operator, "TW-H", domain="Healthcare", type="ClaimDenied")
    await record(gql, api.agent, "TW-3", "CommentAdded", {"text": "done"}, {"status": "RESOLVED"})
    await record(gql, api.agent, "TW-1", "CommentAdded", {"text": "first"}, event_id=STORED)
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"domains": ["Finance"]}}}, key=api.admin)


async def test_a_mixed_event_batch_answers_each_item_as_recordExceptionEvent_does(gql, api_a, api_b):
    for api in (api_a, api_b):
        await _same_world(gql, api)
    items = [
        event_item("TW-1", event_id=FIRST),
        event_item("TW-1", payload={"words": "no text"}),  # invalid payload
        event_item("TW-1", payload={"text": "first"}, event_id=STORED),  # a replay
        event_item("TW-1", payload={"text": "not what was stored"}, event_id=STORED),  # a conflicting one
        event_item("TW-MISSING"),
        event_item("TW-3", "TriageCompleted", {"severity": "LOW"}, {"status": "ANALYZING"}),  # RESOLVED → ANALYZING
        event_item(
            "TW-2",
            "TriageCompleted",
            {"severity": "LOW", "confidence": 0.5},
            {"status": "ANALYZING", "severity": "LOW"},
        ),
        event_item("TW-2", state_change={"status": "ESCALATED", "owner": "ana"}),  # sees ANALYZING
        event_item("TW-2", state_change={"status": "OPEN"}),  # ESCALATED → OPEN is refused
        event_item("TW-1", event_id=FIRST),  # a replay of the batch's own first item
        event_item("TW-1", payload={"text": "other"}, event_id=FIRST),  # its id reused
        event_item("TW-1", "StatusChanged", {"from": "OPEN", "to": "RESOLVED"}),  # written by SentinAI only
        event_item("TW-3", state_change={"status": "OPEN"}),  # reopening is allowed
        event_item("TW-1", state_change={"currentStep": 2}),  # no playbook attached
        event_item("TW-1", state_change={"playbookId": 999_999}),  # no such playbook
        event_item(
            "TW-1", payload={"text": "numbers", "n": 1.5, "big": 1e23, "tiny": 1.5e-10, "zero": -0.0, "aa": [1, 2.0]}
        ),
    ]
    singles = await one_by_one(gql, api_a.agent, RECORD_ONE % RECORDED_ANSWER, "recordExceptionEvent", items)
    batch = await as_a_batch(gql, api_b.agent, RECORD_BATCH % RECORDED_ANSWER, "recordExceptionEvents", items)
    assert batch == singles
    assert [r["__typename"] for r in batch] == [  # the mix is what it says
        "ExceptionEventRecorded",
        "ValidationFailed",
        "ExceptionEventRecorded",
        "Conflict",
        "NotFound",
        "InvalidTransition",
        "ExceptionEventRecorded",
        "ExceptionEventRecorded",
        "InvalidTransition",
        "ExceptionEventRecorded",
        "Conflict",
        "ValidationFailed",
        "ExceptionEventRecorded",
        "ValidationFailed",
        "NotFound",
        "ExceptionEventRecorded",
    ]
    assert [r.get("replayed") for r in batch if "replayed" in r] == [False, True, False, False, True, False, False]


async def test_a_mixed_ingestion_batch_answers_each_item_as_ingestException_does(gql, api_a, api_b):
    for api in (api_a, api_b):
        await _same_world(gql, api)
    items = [
        exception_input("TWI-NEW"),
        exception_input("TW-1"),  # a replay
        exception_input("TWI-BAD", domain="  "),
        exception_input("TW-1", amount="999.00"),
        exception_input("TWI-NEW", attributes={"tradeId": "T-2", "b": 1, "aa": 2.50, "n": 1e23}),  # sees the first
        exception_input("TWI-NEW", attributes={"aa": 2.5, "n": 1e23, "tradeId": "T-2", "b": 1}),  # the same again
        exception_input("TWI-HUGE", amount="1e20"),
        exception_input("TW-H", domain="Healthcare", type="ClaimDenied"),  # accepted under older packs
        exception_input("TWI-H2", domain="Healthcare", type="ClaimDenied"),  # not under today's
        exception_input("TWI-RES", amount="7", summary=None),
    ]
    singles = await one_by_one(gql, api_a.operator, INGEST_ONE % INGESTED_ANSWER, "ingestException", items)
    batch = await as_a_batch(gql, api_b.operator, INGEST_BATCH % INGESTED_ANSWER, "ingestExceptions", items)
    assert batch == singles
    assert [r.get("outcome") or r["__typename"] for r in batch] == [
        "CREATED",
        "UNCHANGED",
        "ValidationFailed",
        "UPDATED",
        "UPDATED",
        "UNCHANGED",
        "ValidationFailed",
        "UNCHANGED",
        "ValidationFailed",
        "CREATED",
    ]


EXCEPTIONS = ["GEN-1", "GEN-2", "GEN-3", "GEN-MISSING"]
EVENT_IDS = [str(uuid.UUID(int=n + 1)) for n in range(6)]
generated_items = st.lists(
    st.fixed_dictionaries(
        {
            "eventId": st.sampled_from(EVENT_IDS) | st.uuids().map(str),
            "exceptionId": st.sampled_from(EXCEPTIONS),
            "eventType": st.sampled_from(["CommentAdded", "CommentAdded", "TriageCompleted", "ExceptionUpdated"]),
            "payload": st.sampled_from([{"text": "a"}, {"text": "b"}, {"severity": "LOW"}, {"words": "x"}]),
            "stateChange": st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(["OPEN", "ANALYZING", "ESCALATED", "RESOLVED"]),
                    "severity": st.sampled_from(["LOW", "CRITICAL"]),
                    "owner": st.sampled_from(["ana", " "]),
                    "currentStep": st.integers(0, 2),
                },
            ),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=generated_items)
async def test_generated_event_batches_answer_like_the_single_mutation(gql, api_a, api_b, items):
    """Each example starts from the same three exceptions, fresh in both tenants: the generated
    items (repeated and reused event ids, transitions, invalid ones) only touch those."""
    suffix = uuid.uuid4().hex[:8]
    renamed = {name: f"{name}-{suffix}" for name in EXCEPTIONS}
    fresh = {event_id: str(uuid.uuid4()) for event_id in EVENT_IDS}
    items = [
        {**i, "exceptionId": renamed[i["exceptionId"]], "eventId": fresh.get(i["eventId"], i["eventId"])} for i in items
    ]
    for api in (api_a, api_b):
        for name in EXCEPTIONS[:3]:
            await ingest(gql, api.operator, renamed[name])
    singles = await one_by_one(gql, api_a.agent, RECORD_ONE % RECORDED_ANSWER, "recordExceptionEvent", items)
    batch = await as_a_batch(gql, api_b.agent, RECORD_BATCH % RECORDED_ANSWER, "recordExceptionEvents", items)
    assert batch == singles
