"""The change log never skips: 16 writers commit out of order while readers consume it.

Every writer opens its transaction (its events' `created_at`), waits a random while, appends an
event, waits again and commits; writers that started early often commit late. A reader that
resumes after the last change log position it has seen receives every committed event exactly
once, in position order. The same run read by Hasura's rule — resume after the greatest key seen
on the timeline itself, `(created_at, seq)` — skips events, so this test can tell the two apart.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from sqlalchemy import select, tuple_

from sentinai.db import models
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.services.exceptions import record_exception_event

pytestmark = pytest.mark.asyncio

WRITERS = 16
EVENTS_PER_WRITER = 6
E = models.ExceptionEvent


class ChangeLogReader:
    """Resumes after the last position it has seen."""

    def __init__(self) -> None:
        self.position, self.received, self.positions = 0, [], []

    async def poll(self, factory, tenant_id: str) -> None:
        async with factory.uow(tenant_id, read_only=True) as uow:
            page = await uow.changes.after(self.position, 100)
        for change in page.items:
            self.received.append(uuid.UUID(change.row_key))
            self.positions.append(change.position)
            self.position = change.position


class HasuraRuleReader:
    """Resumes after the greatest `(created_at, seq)` it has seen on the timeline."""

    def __init__(self) -> None:
        self.cursor, self.received = None, []

    async def poll(self, factory, tenant_id: str) -> None:
        statement = select(E.event_id, E.created_at, E.seq).where(E.tenant_id == tenant_id)
        if self.cursor is not None:
            statement = statement.where(tuple_(E.created_at, E.seq) > tuple_(*self.cursor))
        async with factory.uow(tenant_id, read_only=True) as uow:
            rows = (await uow.execute(statement.order_by(E.created_at, E.seq).limit(100))).all()
        for event_id, created_at, seq in rows:
            self.received.append(event_id)
            self.cursor = (created_at, seq)


async def test_concurrent_writers_never_make_a_reader_skip_or_repeat(factory, tenant_a):
    exceptions = [(await factory.exception(tenant_a)).exception_id for _ in range(WRITERS)]
    rng = random.Random(13)
    ours, hasuras = ChangeLogReader(), HasuraRuleReader()
    writers = asyncio.gather(
        *(
            factory.comment_slowly(tenant_a, e, EVENTS_PER_WRITER, random.Random(rng.random()), 0.03, 0.004)
            for e in exceptions
        )
    )

    while not writers.done():
        await asyncio.gather(ours.poll(factory, tenant_a), hasuras.poll(factory, tenant_a))
        await asyncio.sleep(0.002)
    await writers
    for _ in range(5):  # drain: both readers reach the head
        await asyncio.gather(ours.poll(factory, tenant_a), hasuras.poll(factory, tenant_a))

    async with factory.uow(tenant_a, read_only=True) as uow:
        committed = list((await uow.execute(select(E.event_id).where(E.tenant_id == tenant_a))).scalars())
    assert len(committed) == WRITERS * EVENTS_PER_WRITER
    assert sorted(ours.received) == sorted(committed), "every committed event, exactly once"
    assert ours.positions == list(range(1, len(committed) + 1)), "in position order, without gaps"
    skipped = set(committed) - set(hasuras.received)
    assert skipped, "Hasura's rule should have skipped late commits in this run"


async def test_a_rolled_back_write_leaves_no_gap_and_no_change(factory, tenant_a):
    exception = await factory.exception(tenant_a)
    async with factory.uow(tenant_a) as uow:
        envelope = EventEnvelope(
            uuid.uuid4(),
            exception.exception_id,
            "CommentAdded",
            models.ActorType.AGENT,
            "w",
            {"text": "x"},
            StateChange(),
        )
        await record_exception_event(uow, envelope)
        # leaving without commit rolls back
    await factory.events(tenant_a, exception.exception_id, 2)

    async with factory.uow(tenant_a, read_only=True) as uow:
        page = await uow.changes.after(0, 100)
    assert [change.position for change in page.items] == [1, 2]


async def test_the_log_is_append_only(factory, tenant_a, engine):
    exception = await factory.exception(tenant_a)
    await factory.events(tenant_a, exception.exception_id, 1)

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    async with engine.connect() as connection:  # the service's login may only read it
        with pytest.raises(DBAPIError, match="append-only|permission denied"):
            await connection.execute(text("UPDATE change_log SET position = position + 1000"))
