"""High-volume intake: `ingestExceptions` and `recordExceptionEvents` take up to 100 items in one
request; each item is answered, in input order, exactly as its single mutation would answer it."""

import asyncio
import random
import uuid
from typing import Any

import pytest

from sentinai.api.query_cost import BATCH_ITEM_COST, MUTATION_COST
from sentinai.config import Settings
from sentinai.db import models
from tests.api import documents as doc
from tests.api.helpers import event_item, exception_input, ingest, record

pytestmark = pytest.mark.asyncio


async def record_many(gql, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return (await gql.data(doc.RECORD_MANY, {"input": {"items": items}}, key=key))["recordExceptionEvents"]


async def ingest_many(gql, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return (await gql.data(doc.INGEST_MANY, {"input": {"items": items}}, key=key))["ingestExceptions"]


async def events_stored_on(factory, tenant_id: str, exception_ids: list[str]) -> dict[str, int]:
    async with factory.uow(tenant_id, read_only=True) as uow:
        return await uow.events.count_for(exception_ids)


async def stored_event_ids(factory, tenant_id: str, event_ids: list[str]) -> set[str]:
    async with factory.uow(tenant_id, read_only=True) as uow:
        found = await uow.events.get_many([uuid.UUID(event_id) for event_id in event_ids])
    return {str(event_id) for event_id in found}


async def test_results_come_in_input_order_each_showing_what_its_item_left(gql, api_a):
    ids = ["ORD-3", "ORD-1", "ORD-5", "ORD-2", "ORD-4"]
    ingested = await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids])
    assert [r["exception"]["exceptionId"] for r in ingested["results"]] == ids
    assert {r["outcome"] for r in ingested["results"]} == {"CREATED"}

    items = [
        event_item("ORD-5", "TriageCompleted", {"severity": "CRITICAL"}, {"severity": "CRITICAL"}),
        event_item("ORD-1"),
        event_item("ORD-5", "TriageCompleted", {"severity": "LOW"}, {"severity": "LOW", "status": "ANALYZING"}),
    ]
    recorded = await record_many(gql, api_a.agent, items)
    assert [r["event"]["eventId"] for r in recorded["results"]] == [item["eventId"] for item in items]
    assert [(r["exception"]["exceptionId"], r["exception"]["severity"]) for r in recorded["results"]] == [
        ("ORD-5", "CRITICAL"),
        ("ORD-1", "HIGH"),
        ("ORD-5", "LOW"),
    ]


async def test_a_mixed_batch_answers_every_item_and_stores_only_the_good_ones_once(gql, api_a, api_b, factory):
    await ingest(gql, api_a.operator, "MIX-1")
    await ingest(gql, api_a.operator, "MIX-RESOLVED")
    await record(gql, api_a.agent, "MIX-RESOLVED", "CommentAdded", {"text": "done"}, {"status": "RESOLVED"})
    await ingest(gql, api_b.operator, "MIX-B")
    stored = event_item("MIX-1", payload={"text": "first"})
    await record(gql, api_a.agent, "MIX-1", "CommentAdded", stored["payload"], event_id=stored["eventId"])

    good = event_item("MIX-1", payload={"text": "good"})
    invalid = event_item("MIX-1", payload={"words": "no text"})
    conflicting = {**stored, "payload": {"text": "not what was stored"}}
    other_tenants = event_item("MIX-B")
    reopened_wrongly = event_item("MIX-RESOLVED", "TriageCompleted", {"severity": "LOW"}, {"status": "ANALYZING"})
    good_change = event_item("MIX-1", "TriageCompleted", {"severity": "LOW"}, {"status": "ANALYZING"})
    items = [good, invalid, stored, conflicting, other_tenants, reopened_wrongly, good_change]

    results = (await record_many(gql, api_a.agent, items))["results"]

    assert [r["__typename"] for r in results] == [
        "ExceptionEventRecorded",
        "ValidationFailed",
        "ExceptionEventRecorded",
        "Conflict",
        "NotFound",
        "InvalidTransition",
        "ExceptionEventRecorded",
    ]
    assert results[1]["field"].startswith("payload")
    assert (results[2]["replayed"], results[2]["event"]["payload"]) == (True, {"text": "first"})
    assert (results[5]["fromState"], results[5]["toState"]) == ("RESOLVED", "ANALYZING")
    assert results[6]["exception"]["status"] == "ANALYZING"
    sent = [item["eventId"] for item in items]
    assert await stored_event_ids(factory, api_a.tenant_id, sent) == {
        good["eventId"],
        stored["eventId"],
        good_change["eventId"],
    }
    assert await events_stored_on(factory, api_a.tenant_id, ["MIX-1", "MIX-RESOLVED"]) == {
        "MIX-1": 4,
        "MIX-RESOLVED": 2,
    }
    assert await events_stored_on(factory, api_b.tenant_id, ["MIX-B"]) == {"MIX-B": 1}


async def test_a_mixed_ingestion_batch_answers_every_item_like_ingest_exception(gql, api_a, factory):
    await ingest(gql, api_a.operator, "ING-OLD")
    items = [
        exception_input("ING-NEW"),
        exception_input("ING-OLD"),
        exception_input("ING-BAD", domain="  "),
        exception_input("ING-OLD", amount="999.00"),
        exception_input("ING-HUGE", amount="1e20"),
    ]
    results = (await ingest_many(gql, api_a.operator, items))["results"]
    assert [r.get("outcome") or r["__typename"] for r in results] == [
        "CREATED",
        "UNCHANGED",
        "ValidationFailed",
        "UPDATED",
        "ValidationFailed",
    ]
    assert (results[2]["field"], results[3]["changedFields"]) == ("domain", ["amount"])
    async with factory.uow(api_a.tenant_id, read_only=True) as uow:
        assert sorted(await uow.exceptions.get_many(["ING-NEW", "ING-OLD", "ING-BAD", "ING-HUGE"])) == [
            "ING-NEW",
            "ING-OLD",
        ]
    counts = await events_stored_on(factory, api_a.tenant_id, ["ING-NEW", "ING-OLD"])
    assert counts == {"ING-NEW": 1, "ING-OLD": 2}  # ExceptionCreated each, and ING-OLD's ExceptionUpdated


async def test_a_replayed_batch_changes_nothing_and_reports_every_replay(gql, api_a, factory):
    ids = [f"REP-{n}" for n in range(4)]
    exceptions = [exception_input(exception_id) for exception_id in ids]
    events = [
        event_item(exception_id, "TriageCompleted", {"severity": "LOW"}, {"status": "ANALYZING"})
        for exception_id in ids
    ]
    await ingest_many(gql, api_a.operator, exceptions)
    first = await record_many(gql, api_a.agent, events)
    before = await events_stored_on(factory, api_a.tenant_id, ids)

    again = await ingest_many(gql, api_a.operator, exceptions)
    replayed = await record_many(gql, api_a.agent, events)

    assert [r["outcome"] for r in again["results"]] == ["UNCHANGED"] * 4
    assert [r["replayed"] for r in replayed["results"]] == [True] * 4
    assert [r["event"] for r in replayed["results"]] == [r["event"] for r in first["results"]]
    assert await events_stored_on(factory, api_a.tenant_id, ids) == before == dict.fromkeys(ids, 2)


async def test_more_than_one_hundred_items_are_refused_and_nothing_is_written(gql, api_a, factory):
    ids = [f"MANY-{n:03d}" for n in range(101)]
    refused = await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids])
    assert (refused["__typename"], refused["field"]) == ("ValidationFailed", "input.items")
    async with factory.uow(api_a.tenant_id, read_only=True) as uow:
        assert await uow.exceptions.get_many(ids) == {}

    accepted = await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids[:100]])
    assert [r["outcome"] for r in accepted["results"]] == ["CREATED"] * 100


async def test_a_viewer_gets_the_forbidden_member_and_nothing_is_written(gql, api_a, factory):
    refused = await ingest_many(gql, api_a.viewer, [exception_input("VIEWED")])
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    refused = await record_many(gql, api_a.viewer, [event_item("VIEWED")])
    assert refused["__typename"] == "Forbidden"
    async with factory.uow(api_a.tenant_id, read_only=True) as uow:
        assert await uow.exceptions.get("VIEWED") is None


async def test_concurrent_batches_with_shared_event_ids_lose_nothing_and_store_nothing_twice(gql, api_a, factory):
    rng = random.Random(14)
    ids = [f"CONC-{n}" for n in range(8)]
    await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids])
    own = [[event_item(rng.choice(ids), payload={"text": f"{b}-{n}"}) for n in range(14)] for b in range(8)]
    batches = []
    for b in range(8):  # 30 % of each batch: events another batch also sends, with the same content
        shared = [rng.choice(own[(b + 1 + rng.randrange(7)) % 8]) for _ in range(6)]
        batch = own[b] + shared
        rng.shuffle(batch)
        batches.append(batch)

    answers = await asyncio.gather(*(record_many(gql, api_a.agent, batch) for batch in batches))

    results = [result for answer in answers for result in answer["results"]]
    assert {r["__typename"] for r in results} == {"ExceptionEventRecorded"}
    first_writes = [r["event"]["eventId"] for r in results if not r["replayed"]]
    distinct = {item["eventId"] for batch in batches for item in batch}
    assert sorted(first_writes) == sorted(distinct)  # each event inserted by exactly one item
    assert await stored_event_ids(factory, api_a.tenant_id, sorted(distinct)) == distinct
    counts = await events_stored_on(factory, api_a.tenant_id, ids)
    assert sum(counts.values()) == len(ids) + len(distinct)  # one ExceptionCreated each, nothing twice


async def _statements_for(gql, count_statements, key: str, items: list[dict[str, Any]]) -> int:
    with count_statements:
        results = (await record_many(gql, key, items))["results"]
    assert {r["__typename"] for r in results} <= {"ExceptionEventRecorded", "NotFound"}
    return count_statements.count


async def test_a_batch_takes_as_many_statements_for_a_hundred_items_as_for_ten(gql, api_a, count_statements):
    ids = [f"STMT-{n}" for n in range(10)]
    await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids])
    ten = await _statements_for(gql, count_statements, api_a.agent, [event_item(i) for i in ids])
    hundred = await _statements_for(gql, count_statements, api_a.agent, [event_item(i) for i in ids * 10])
    changing = [event_item(i, "TriageCompleted", {"severity": "LOW"}, {"severity": "LOW"}) for i in ids * 10]
    with_changes = await _statements_for(gql, count_statements, api_a.agent, changing)
    assert ten == hundred
    # the key's lookup and its scope (the test app caches no key), the writer's scope, the batch's
    # locks, a SAVEPOINT, the locked rows with the stored events of the eventIds and the time (one
    # statement), the events' insert, the RELEASE; and the changed exceptions' update when there are some
    assert hundred <= 8
    assert with_changes == hundred + 1


async def test_failed_items_cost_no_statements_of_their_own(gql, api_a, count_statements):
    await ingest(gql, api_a.operator, "STMT-OK")
    good = await _statements_for(gql, count_statements, api_a.agent, [event_item("STMT-OK") for _ in range(20)])
    items = [event_item("STMT-OK" if n % 2 == 0 else "STMT-MISSING") for n in range(20)]
    with count_statements:
        results = (await record_many(gql, api_a.agent, items))["results"]
    assert [r["__typename"] for r in results] == ["ExceptionEventRecorded", "NotFound"] * 10
    assert count_statements.count == good


async def test_one_hundred_items_are_priced_by_their_count_within_one_request_s_limit(gql, api_a):
    await ingest(gql, api_a.operator, "COST-1")

    async def cost(count: int) -> int:
        items = [event_item("COST-1") for _ in range(count)]
        body = await gql.post(doc.RECORD_MANY, {"input": {"items": items}}, key=api_a.agent)
        assert "errors" not in body, body["errors"]
        return body["extensions"]["cost"]["requestedQueryCost"]

    ten, hundred = await cost(10), await cost(100)
    assert MUTATION_COST + 100 * BATCH_ITEM_COST < hundred <= Settings().max_query_cost
    assert hundred - ten > 90 * BATCH_ITEM_COST


async def test_a_batch_s_events_enter_the_hash_chain_in_input_order_and_the_chain_verifies(gql, api_a, factory):
    ids = [f"CHAIN-{n}" for n in range(5)]
    await ingest_many(gql, api_a.operator, [exception_input(exception_id) for exception_id in ids])
    items = [event_item(exception_id) for exception_id in random.Random(3).choices(ids, k=30)]
    await record_many(gql, api_a.agent, items)
    async with factory.uow(api_a.tenant_id, read_only=True) as uow:
        stored = await uow.events.get_many([uuid.UUID(item["eventId"]) for item in items])
        report = await uow.history.verify("exception_event")
    in_chain_order = sorted(stored.values(), key=lambda event: event.seq)  # the chain links rows by seq
    assert [str(event.event_id) for event in in_chain_order] == [item["eventId"] for item in items]
    assert report.intact and report.links == 5 + 30


async def test_a_batch_that_loses_a_race_for_an_event_id_answers_every_item_right(gql, api_a, factory):
    """Another transaction stores an event id for another exception while the batch runs: the
    batch's one-statement insert fails on it, and each item is then answered on its own."""
    from sentinai.domain.events import EventEnvelope
    from sentinai.services.exceptions import record_exception_event

    await ingest_many(gql, api_a.operator, [exception_input("RACE-1"), exception_input("RACE-2")])
    contested = event_item("RACE-1")
    items = [
        event_item("RACE-1"),
        contested,
        event_item("RACE-1", "TriageCompleted", {"severity": "LOW"}, {"status": "ANALYZING"}),
    ]
    async with factory.uow(api_a.tenant_id) as other:
        envelope = EventEnvelope(
            uuid.UUID(contested["eventId"]), "RACE-2", "CommentAdded", models.ActorType.AGENT, "other", {"text": "mine"}
        )
        await record_exception_event(other, envelope)
        batch = asyncio.create_task(record_many(gql, api_a.agent, items))
        await asyncio.sleep(0.5)  # the batch reads before this commits, and waits on its insert
        await other.commit()
    results = (await batch)["results"]
    assert [r["__typename"] for r in results] == ["ExceptionEventRecorded", "Conflict", "ExceptionEventRecorded"]
    assert results[2]["exception"]["status"] == "ANALYZING"
    assert await events_stored_on(factory, api_a.tenant_id, ["RACE-1", "RACE-2"]) == {"RACE-1": 3, "RACE-2": 2}


async def test_a_single_event_that_loses_a_race_for_its_id_is_answered_as_a_conflict(gql, api_a, factory):
    from sentinai.domain.events import EventEnvelope
    from sentinai.services.exceptions import record_exception_event

    await ingest_many(gql, api_a.operator, [exception_input("RACE-3"), exception_input("RACE-4")])
    contested = event_item("RACE-3")
    async with factory.uow(api_a.tenant_id) as other:
        envelope = EventEnvelope(
            uuid.UUID(contested["eventId"]), "RACE-4", "CommentAdded", models.ActorType.AGENT, "other", {"text": "mine"}
        )
        await record_exception_event(other, envelope)
        single = asyncio.create_task(gql.data(doc.RECORD, {"input": contested}, key=api_a.agent))
        await asyncio.sleep(0.5)
        await other.commit()
    assert (await single)["recordExceptionEvent"]["__typename"] == "Conflict"
