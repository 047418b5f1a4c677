"""Idempotent ingestion and the agents' event pattern, alone and under 16 concurrent replays."""

import asyncio
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sentinai.db import models
from sentinai.domain.actors import Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.errors import ConflictError, InvalidTransitionError, NotFoundError, ValidationError
from sentinai.repositories.exceptions import IngestOutcome, NewException
from sentinai.services.exceptions import ingest_exception, record_exception_event

pytestmark = pytest.mark.asyncio

AGENT = Actor("key:agent", models.ApiKeyRole.AGENT, models.ActorType.AGENT)
CONCURRENCY = 16


def _new(exception_id="EXC-I", **overrides):
    fields = dict(
        exception_id=exception_id,
        domain="Finance",
        type="SettlementFailure",
        severity=models.Severity.HIGH,
        source_system="Murex",
        entity="CPTY-1",
        amount=Decimal("10.00"),
        summary="failed",
    )
    fields.update(overrides)
    return NewException(**fields)


async def _ingest(factory, tenant_id, new):
    async with factory.uow(tenant_id) as uow:
        result = await ingest_exception(uow, new, AGENT)
        await uow.commit()
    return result


async def _count(factory, tenant_id, model, **where):
    async with factory.uow(tenant_id) as uow:
        statement = select(func.count()).select_from(model).filter_by(**where)
        return await uow.scalar(statement)


async def test_reingesting_the_same_exception_changes_nothing_and_says_so(factory, tenant_a):
    assert (await _ingest(factory, tenant_a, _new())).outcome == IngestOutcome.CREATED
    again = await _ingest(factory, tenant_a, _new())
    assert again.outcome == IngestOutcome.UNCHANGED
    assert await _count(factory, tenant_a, models.ExceptionEvent, exception_id="EXC-I") == 1


async def test_reingesting_with_a_changed_source_field_updates_it_and_records_what_changed(factory, tenant_a):
    await _ingest(factory, tenant_a, _new())
    result = await _ingest(factory, tenant_a, _new(amount=Decimal("99.50"), summary="still failing"))
    assert result.outcome == IngestOutcome.UPDATED
    assert set(result.changed_fields) == {"amount", "summary"}
    assert result.exception.amount == Decimal("99.50")


async def test_reingestion_never_overwrites_what_the_workflow_decided(factory, tenant_a):
    await _ingest(factory, tenant_a, _new())
    async with factory.uow(tenant_a) as uow:
        await record_exception_event(
            uow,
            EventEnvelope(
                uuid.uuid4(),
                "EXC-I",
                "TriageCompleted",
                models.ActorType.AGENT,
                "triage",
                {"severity": "CRITICAL"},
                StateChange(severity=models.Severity.CRITICAL, status=models.ExceptionStatus.ANALYZING),
            ),
        )
        await uow.commit()
    result = await _ingest(factory, tenant_a, _new(severity=models.Severity.LOW))
    assert (result.exception.severity, result.exception.status) == (
        models.Severity.CRITICAL,
        models.ExceptionStatus.ANALYZING,
    )


async def test_an_event_applies_its_state_change_and_a_replay_is_a_no_op(factory, tenant_a):
    await _ingest(factory, tenant_a, _new())
    envelope = EventEnvelope(
        uuid.uuid4(),
        "EXC-I",
        "LLMDecisionProposed",
        models.ActorType.AGENT,
        "resolver",
        {"decision": "escalate"},
        StateChange(status=models.ExceptionStatus.ESCALATED, owner="desk-2"),
    )
    async with factory.uow(tenant_a) as uow:
        first = await record_exception_event(uow, envelope)
        await uow.commit()
    async with factory.uow(tenant_a) as uow:
        replay = await record_exception_event(uow, envelope)
        await uow.commit()
    assert (first.replayed, replay.replayed) == (False, True)
    assert replay.event.seq == first.event.seq
    assert (replay.exception.status, replay.exception.owner) == (models.ExceptionStatus.ESCALATED, "desk-2")


async def test_reusing_an_event_id_for_different_content_is_a_conflict(factory, tenant_a):
    await _ingest(factory, tenant_a, _new())
    event_id = uuid.uuid4()
    async with factory.uow(tenant_a) as uow:
        await record_exception_event(
            uow, EventEnvelope(event_id, "EXC-I", "CommentAdded", models.ActorType.USER, "u", {"text": "a"})
        )
        await uow.commit()
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(ConflictError):
            await record_exception_event(
                uow, EventEnvelope(event_id, "EXC-I", "CommentAdded", models.ActorType.USER, "u", {"text": "b"})
            )


async def test_an_invalid_transition_is_refused_and_leaves_no_event_behind(factory, tenant_a):
    await _ingest(factory, tenant_a, _new(status=models.ExceptionStatus.RESOLVED))
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(InvalidTransitionError, match="RESOLVED to ESCALATED"):
            await record_exception_event(
                uow,
                EventEnvelope(
                    uuid.uuid4(),
                    "EXC-I",
                    "CommentAdded",
                    models.ActorType.USER,
                    "u",
                    {"text": "x"},
                    StateChange(status=models.ExceptionStatus.ESCALATED),
                ),
            )
    assert await _count(factory, tenant_a, models.ExceptionEvent, event_type="CommentAdded") == 0


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "payload.severity"),
        ({"severity": "SEVERE"}, "payload.severity"),
        ({"severity": "LOW", "confidence": 1.5}, "payload.confidence"),
        ({"severity": "LOW", "confidence": "high"}, "payload.confidence"),
    ],
)
async def test_an_invalid_payload_is_refused_naming_the_field(factory, tenant_a, payload, field):
    await _ingest(factory, tenant_a, _new())
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(ValidationError) as refused:
            await record_exception_event(
                uow, EventEnvelope(uuid.uuid4(), "EXC-I", "TriageCompleted", models.ActorType.AGENT, "t", payload)
            )
    assert refused.value.field == field


async def test_an_event_for_an_unknown_exception_is_not_found(factory, tenant_a, tenant_b):
    await _ingest(factory, tenant_b, _new("EXC-B-ONLY"))
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(NotFoundError):
            await record_exception_event(
                uow,
                EventEnvelope(uuid.uuid4(), "EXC-B-ONLY", "CommentAdded", models.ActorType.USER, "u", {"text": "x"}),
            )


async def _concurrently(count, make):
    started = time.perf_counter()
    results = await asyncio.gather(*(make() for _ in range(count)), return_exceptions=True)
    return results, time.perf_counter() - started


async def test_16_concurrent_replays_of_one_ingestion_store_one_exception_and_one_created_event(
    factory, tenant_a, capsys
):
    results, elapsed = await _concurrently(CONCURRENCY, lambda: _ingest(factory, tenant_a, _new("EXC-RACE")))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    outcomes = [r.outcome for r in results]
    assert outcomes.count(IngestOutcome.CREATED) == 1
    assert outcomes.count(IngestOutcome.UNCHANGED) == CONCURRENCY - 1
    assert await _count(factory, tenant_a, models.ExceptionRecord, exception_id="EXC-RACE") == 1
    assert await _count(factory, tenant_a, models.ExceptionEvent, exception_id="EXC-RACE") == 1
    with capsys.disabled():
        print(f"\n  16 concurrent ingestion replays: 1 created, 15 unchanged, 0 errors in {elapsed * 1000:.0f} ms")


async def test_16_concurrent_replays_of_one_event_append_it_once_and_apply_it_once(factory, tenant_a, capsys):
    await _ingest(factory, tenant_a, _new("EXC-EVT"))
    envelope = EventEnvelope(
        uuid.uuid4(),
        "EXC-EVT",
        "TriageCompleted",
        models.ActorType.AGENT,
        "triage",
        {"severity": "LOW"},
        StateChange(status=models.ExceptionStatus.ANALYZING),
    )

    async def replay():
        async with factory.uow(tenant_a) as uow:
            result = await record_exception_event(uow, envelope)
            await uow.commit()
        return result

    results, elapsed = await _concurrently(CONCURRENCY, replay)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sum(not r.replayed for r in results) == 1
    assert await _count(factory, tenant_a, models.ExceptionEvent, event_id=envelope.event_id) == 1
    with capsys.disabled():
        print(f"  16 concurrent event replays: 1 appended, 15 replays, 0 errors in {elapsed * 1000:.0f} ms")


async def test_concurrent_publishers_get_consecutive_policy_pack_versions(factory, tenant_a):
    async def publish():
        async with factory.uow(tenant_a) as uow:
            row = await uow.policy_packs.publish({}, "admin")
            await uow.commit()
        return row.version

    results, _ = await _concurrently(8, publish)
    assert sorted(results) == list(range(1, 9))


async def test_concurrent_first_ingestions_with_different_content_record_what_the_loser_changed(factory, tenant_a):
    first, second = await asyncio.gather(
        _ingest(factory, tenant_a, _new("EXC-DIFF", summary="one")),
        _ingest(factory, tenant_a, _new("EXC-DIFF", summary="two")),
    )
    outcomes = sorted([first.outcome, second.outcome], key=lambda outcome: outcome.value)
    assert outcomes == [IngestOutcome.CREATED, IngestOutcome.UPDATED]
    loser = first if first.outcome == IngestOutcome.UPDATED else second
    assert loser.changed_fields == ("summary",)
    assert await _count(factory, tenant_a, models.ExceptionEvent, exception_id="EXC-DIFF") == 2


async def test_the_intake_lock_reads_the_time_after_its_lock_is_granted(factory, tenant_a):
    """A batch's time, read in the statement that locks its exceptions, comes after the lock is
    granted, not when the statement began: else an event written by the transaction it waited
    for could carry a later time than the batch's, and the timeline would go back in time."""
    await _ingest(factory, tenant_a, _new("EXC-CLOCK"))
    holding, waited = asyncio.Event(), 0.3
    async with factory.uow(tenant_a) as first:
        earlier = await first.exceptions.lock_for_intake(["EXC-CLOCK"])

        async def second() -> None:
            async with factory.uow(tenant_a) as uow:
                holding.set()
                later = await uow.exceptions.lock_for_intake(["EXC-CLOCK"], [uuid.uuid4()])
                assert (later.at - earlier.at).total_seconds() >= waited
                assert set(later.exceptions) == {"EXC-CLOCK"} and later.events == {}

        waiting = asyncio.create_task(second())
        await holding.wait()
        await asyncio.sleep(waited)
        await first.commit()
    await waiting
