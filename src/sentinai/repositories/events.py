"""Exception events: the append-only timeline. Rows are inserted, never changed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY, insert

from sentinai.db import models
from sentinai.domain.events import EventEnvelope
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import DATETIME, INTEGER, KeysetOrder, Page, SortKey
from sentinai.repositories.sets import Unnested

V = models.ExceptionEvent
Ts = TypeVarTuple("Ts")

CHRONOLOGICAL = KeysetOrder(
    "timeline",
    (SortKey(V.created_at, lambda e: e.created_at, DATETIME), SortKey(V.seq, lambda e: e.seq, INTEGER)),
    descending=False,
)
NEWEST_FIRST = KeysetOrder(
    "timeline-desc",
    (SortKey(V.created_at, lambda e: e.created_at, DATETIME), SortKey(V.seq, lambda e: e.seq, INTEGER)),
    descending=True,
)


@dataclass(frozen=True)
class EventFilter:
    event_types: tuple[str, ...] | None = None
    actor_type: models.ActorType | None = None

    def apply(self, statement: Select[*Ts]) -> Select[*Ts]:
        if self.event_types:
            statement = statement.where(V.event_type.in_(self.event_types))
        if self.actor_type is not None:
            statement = statement.where(V.actor_type == self.actor_type)
        return statement


@dataclass(frozen=True)
class EventPage:
    """Which page of an exception's timeline: size, cursor, filter and direction."""

    first: int
    after: str | None = None
    where: EventFilter = EventFilter()
    newest_first: bool = False


_INSERTED = (
    "event_id",
    "exception_id",
    "event_type",
    "actor_type",
    "actor_id",
    "payload",
    "state_change",
    "created_at",
)
_TABLE = V.metadata.tables[V.__tablename__]  # a Table, as typed (`__table__` is typed a FromClause)
_NEW_EVENTS = Unnested("new_event", [_TABLE.c[name] for name in _INSERTED])
_INSERT_NEW_EVENTS = _NEW_EVENTS.insert_into(_TABLE, "event_id", ("event_id", "seq"))


class ExceptionEventRepository(Repository):
    def _scoped(self) -> Select[Any]:
        return select(V).where(V.tenant_id == self.tenant_id)

    async def event_exists(self, event_id: uuid.UUID) -> bool:
        statement = select(func.count()).select_from(V).where(V.tenant_id == self.tenant_id, V.event_id == event_id)
        return bool(await self.uow.scalar(statement))

    async def get(self, event_id: uuid.UUID) -> models.ExceptionEvent | None:
        result = await self.uow.execute(self._scoped().where(V.event_id == event_id))
        return result.scalar_one_or_none()

    async def append_event_if_new(self, envelope: EventEnvelope) -> tuple[models.ExceptionEvent, bool]:
        """Insert the event unless this tenant already has its `event_id`.

        Returns the stored event and True when this call inserted it. A replay returns
        the original row untouched, even if the replayed payload differs.
        """
        statement = (
            insert(V)
            .values(
                tenant_id=self.tenant_id,
                event_id=envelope.event_id,
                exception_id=envelope.exception_id,
                event_type=envelope.event_type,
                actor_type=envelope.actor_type,
                actor_id=envelope.actor_id,
                payload=envelope.payload,
                state_change=envelope.state_change.as_json(),
            )
            .on_conflict_do_nothing(index_elements=[V.tenant_id, V.event_id])
            .returning(V)
        )
        inserted = (await self.uow.execute(statement)).scalar_one_or_none()
        if inserted is not None:
            return inserted, True
        original = await self.get(envelope.event_id)
        assert original is not None, "a conflicting event must exist when nothing was inserted"
        return original, False

    async def insert_many(self, events: Sequence[models.ExceptionEvent]) -> bool:
        """Insert new events (transient rows, never added to the session) in one statement, in
        the given order: their `seq`, hence their places in the tenant's hash chain and change
        log, follow it. Sets each row's `seq`. False when the tenant has one of the event ids
        already (then the others may have been inserted)."""
        if not events:
            return True
        rows = _NEW_EVENTS.parameters([[getattr(event, name) for name in _INSERTED] for event in events])
        result = await self.uow.execute(_INSERT_NEW_EVENTS, {"tenant": self.tenant_id, **rows})
        seqs: dict[uuid.UUID, int] = dict(result.all())
        for event in events:
            event.seq = seqs.get(event.event_id, 0)
        return len(seqs) == len(events)

    async def events_for(self, exception_ids: Sequence[str], page: EventPage) -> dict[str, Page[models.ExceptionEvent]]:
        """The same page of each exception's timeline, in one statement (a LATERAL join)."""
        order, limit, after, where = (
            NEWEST_FIRST if page.newest_first else CHRONOLOGICAL,
            page.first,
            page.after,
            page.where,
        )
        ids = sorted(set(exception_ids))
        wanted = (
            func.unnest(bindparam("wanted_ids", ids, type_=ARRAY(String)))
            .table_valued("exception_id")
            .render_derived(name="wanted")
        )
        per_exception = order.apply(
            where.apply(self._scoped().where(V.exception_id == wanted.c.exception_id)), after, limit
        ).lateral("timeline")
        statement = select(models.ExceptionEvent).from_statement(
            select(per_exception).select_from(wanted).join(per_exception, true())
        )
        rows = (await self.uow.execute(statement)).scalars().all()
        grouped: dict[str, list[models.ExceptionEvent]] = {exception_id: [] for exception_id in ids}
        for row in rows:
            grouped[row.exception_id].append(row)
        return {exception_id: order.page(events, limit) for exception_id, events in grouped.items()}

    async def count_for(self, exception_ids: Sequence[str], where: EventFilter = EventFilter()) -> dict[str, int]:
        statement = where.apply(
            select(V.exception_id, func.count())
            .where(V.tenant_id == self.tenant_id, V.exception_id.in_(list(set(exception_ids))))
            .group_by(V.exception_id)
        )
        counts: dict[str, int] = dict((await self.uow.execute(statement)).all())
        return {exception_id: counts.get(exception_id, 0) for exception_id in exception_ids}

    async def get_many(self, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, models.ExceptionEvent]:
        result = await self.uow.execute(self._scoped().where(V.event_id.in_(list(set(event_ids)))))
        return {row.event_id: row for row in result.scalars()}
