"""Intake in sets: what a batch of items reads, changes and writes, in a constant number of statements.

A batch reads what its items' rules need once: its exceptions, row-locked; the stored events of its
event ids; the database's time. Each item's rules then run in Python, in input order, against the
batch's working state — the stored rows as changed by the items before it, exactly as if each item
had been written on its own. An item that fails changes nothing in that state, so it leaves
nothing. `write` then stores what the others did: one statement for the new exceptions, one for the
new events, one for the changed exceptions.

Rows are never changed in place (the session's copies stay as they were read): a change makes a new,
transient copy, so the copy an item's result holds shows what that item left, whatever later items do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from sentinai.db import models
from sentinai.domain.events import EventEnvelope
from sentinai.domain.validation import stored_json
from sentinai.repositories.sets import plain_row
from sentinai.repositories.unit_of_work import UnitOfWork

_COLUMNS = tuple(attribute.key for attribute in inspect(models.ExceptionRecord).column_attrs)


def _copy(record: models.ExceptionRecord, **values: Any) -> models.ExceptionRecord:
    return plain_row(models.ExceptionRecord, {name: getattr(record, name) for name in _COLUMNS} | values)


class StaleBatchError(Exception):
    """A row the batch meant to insert was stored meanwhile by another transaction (a concurrent
    first ingestion of one exception, an event id used concurrently on another exception): the
    batch's answers are stale. The rows it had already written must be undone (a savepoint);
    a batch of one item has written nothing then — that row was its first write."""


@dataclass
class IntakeBatch:
    uow: UnitOfWork
    at: datetime
    """The batch's time, read once its exceptions are locked: every event it appends and every
    change it makes carries it (as the event's `createdAt`, the exception's `updatedAt`…)."""
    exceptions: dict[str, models.ExceptionRecord]
    """Each exception of the batch as the items so far left it; absent when it does not exist."""
    events: dict[uuid.UUID, models.ExceptionEvent]
    """The stored events among the batch's event ids, and the events the batch appended so far."""
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    appended: list[models.ExceptionEvent] = field(default_factory=list)

    @classmethod
    async def begin(
        cls, uow: UnitOfWork, exception_ids: Sequence[str], event_ids: Sequence[uuid.UUID] = ()
    ) -> IntakeBatch:
        locked = await uow.exceptions.lock_for_intake(exception_ids, event_ids)
        return cls(uow, locked.at, locked.exceptions, locked.events)

    def create(self, **values: Any) -> models.ExceptionRecord:
        fixed = {"tenant_id": self.uow.tenant_id, "created_at": self.at, "updated_at": self.at, "enriched_context": {}}
        record = plain_row(models.ExceptionRecord, fixed | values)
        self.exceptions[record.exception_id] = record
        self.created.add(record.exception_id)
        return record

    def change(self, exception_id: str, **values: Any) -> models.ExceptionRecord:
        """A new state of the exception, with `values` changed and `updatedAt` the batch's time."""
        record = _copy(self.exceptions[exception_id], **values, updated_at=self.at)
        self.exceptions[exception_id] = record
        if exception_id not in self.created:
            self.changed.add(exception_id)
        return record

    def append(self, envelope: EventEnvelope) -> models.ExceptionEvent:
        """Append a validated event; it reads as it will once stored (its `seq` comes with `write`)."""
        event = plain_row(
            models.ExceptionEvent,
            {
                "tenant_id": self.uow.tenant_id,
                "event_id": envelope.event_id,
                "exception_id": envelope.exception_id,
                "event_type": envelope.event_type,
                "actor_type": envelope.actor_type,
                "actor_id": envelope.actor_id,
                "payload": stored_json(envelope.payload),
                "state_change": stored_json(envelope.state_change.as_json()),
                "created_at": self.at,
            },
        )
        self.events[event.event_id] = event
        self.appended.append(event)
        return event

    async def write(self) -> None:
        """Store what the items did; the appended events go out once the transaction commits.
        Raises StaleBatchError when another transaction stored one of the new rows first."""
        if not await self.uow.exceptions.insert_many([self.exceptions[key] for key in sorted(self.created)]):
            raise StaleBatchError("an exception this batch creates was created meanwhile")
        if not await self.uow.events.insert_many(self.appended):
            raise StaleBatchError("an event id this batch uses was used meanwhile")
        await self.uow.exceptions.write_back([self.exceptions[key] for key in sorted(self.changed)])
        self.uow.outbound.extend(self.appended)
