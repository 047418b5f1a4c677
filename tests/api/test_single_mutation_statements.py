"""The single mutations are batches of one: they must not cost more statements than they did
before batches existed (f87bbcb). The counts include the request's own (the key's lookup and
scope, the writer's scope); a test app caches no key."""

import uuid

import pytest

from tests.api.helpers import ingest, record

pytestmark = pytest.mark.asyncio

# What the item-by-item single mutations took at f87bbcb, counted with this very test.
BEFORE_BATCHES = {
    "ingest, new": 7,
    "ingest, replay": 5,
    "ingest, changed": 7,
    "record, new": 5,
    "record, replay": 6,
    "record, changing the exception": 6,
}
# Now: the exception's lock, its stored event and the time are one statement; a replay writes nothing.
NOW = BEFORE_BATCHES | {"record, replay": 4}
SUCCESS = {"IngestExceptionSuccess", "ExceptionEventRecorded"}


async def _counted(count_statements, write) -> int:
    with count_statements:
        answer = await write()
    assert answer["__typename"] in SUCCESS, answer
    return count_statements.count


async def test_a_single_mutation_takes_no_more_statements_than_before_batches(gql, api_a, count_statements):
    operator, agent, event_id = api_a.operator, api_a.agent, str(uuid.uuid4())
    comment = {"text": "seen"}
    counts = {
        "ingest, new": await _counted(count_statements, lambda: ingest(gql, operator, "ONE-1")),
        "ingest, replay": await _counted(count_statements, lambda: ingest(gql, operator, "ONE-1")),
        "ingest, changed": await _counted(count_statements, lambda: ingest(gql, operator, "ONE-1", entity="CPTY-2")),
        "record, new": await _counted(
            count_statements, lambda: record(gql, agent, "ONE-1", "CommentAdded", comment, event_id=event_id)
        ),
        "record, replay": await _counted(
            count_statements, lambda: record(gql, agent, "ONE-1", "CommentAdded", comment, event_id=event_id)
        ),
        "record, changing the exception": await _counted(
            count_statements,
            lambda: record(gql, agent, "ONE-1", "TriageCompleted", {"severity": "LOW"}, {"severity": "LOW"}),
        ),
    }
    assert counts == NOW
    assert all(NOW[name] <= BEFORE_BATCHES[name] for name in NOW)
