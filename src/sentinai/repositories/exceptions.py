"""Exceptions: the current state of each operational exception of the tenant."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, String, Uuid, any_, bindparam, false, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY, insert

from sentinai.db import models
from sentinai.domain.deadlines import is_derived
from sentinai.domain.sla import SlaState
from sentinai.domain.validation import same_json
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import DATETIME, LAST_POSITION, STRING, KeysetOrder, Page, SortKey
from sentinai.repositories.sets import Unnested, plain_row
from sentinai.repositories.sla import any_sla_state

E = models.ExceptionRecord
V = models.ExceptionEvent
Ts = TypeVarTuple("Ts")

# Fields the source system owns: a re-ingestion may change them. Status, severity, owner and
# playbook progress belong to the workflow once the exception exists, so ingestion never
# overwrites what triage or a person decided.
SOURCE_FIELDS = ("domain", "type", "source_system", "entity", "amount", "sla_deadline", "summary", "attributes")


class IngestOutcome(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class NewException:
    exception_id: str
    domain: str
    type: str
    severity: models.Severity
    source_system: str
    entity: str
    amount: Decimal | None = None
    sla_deadline: datetime | None = None
    summary: str | None = None
    attributes: Any = field(default_factory=dict)
    """A JSON object once `services.exceptions.validate_new_exception` has checked what the client sent."""
    status: models.ExceptionStatus = models.ExceptionStatus.OPEN
    owner: str | None = None


@dataclass(frozen=True)
class ExceptionFilter:
    domain: str | None = None
    type: str | None = None
    statuses: Sequence[models.ExceptionStatus] | None = None
    severities: Sequence[models.Severity] | None = None
    source_system: str | None = None
    entity: str | None = None
    owner: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sla_states: Sequence[SlaState] | None = None
    now: datetime | None = None  # the instant SLA states are judged at; required with `sla_states`

    def apply(self, tenant_id: str | ColumnElement[str], statement: Select[*Ts]) -> Select[*Ts]:
        equalities = {
            E.domain: self.domain,
            E.type: self.type,
            E.source_system: self.source_system,
            E.entity: self.entity,
            E.owner: self.owner,
        }
        for column, value in equalities.items():
            if value is not None:
                statement = statement.where(column == value)
        if self.statuses:
            statement = statement.where(E.status.in_(self.statuses))
        if self.severities:
            statement = statement.where(E.severity.in_(self.severities))
        if self.created_from is not None:
            statement = statement.where(E.created_at >= self.created_from)
        if self.created_to is not None:
            statement = statement.where(E.created_at < self.created_to)
        if self.sla_states:
            assert self.now is not None, "an SLA filter needs the instant to judge at"
            statement = statement.where(any_sla_state(list(self.sla_states), self.now, tenant_id))
        return statement


@dataclass(frozen=True)
class ExceptionPage:
    """Which page of the exception list: filter, ordering (a key of ORDERS), size and cursor."""

    where: ExceptionFilter
    order: str = "newest"
    first: int = 20
    after: str | None = None


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(models.Severity)}


def _severity_codec() -> tuple[Any, Any]:
    return (lambda value: value.value, models.Severity)


ORDERS: dict[str, KeysetOrder] = {
    "newest": KeysetOrder(
        "newest",
        (
            SortKey(E.created_at, lambda e: e.created_at, DATETIME),
            SortKey(E.exception_id, lambda e: e.exception_id, STRING),
        ),
        descending=True,
    ),
    "oldest": KeysetOrder(
        "oldest",
        (
            SortKey(E.created_at, lambda e: e.created_at, DATETIME),
            SortKey(E.exception_id, lambda e: e.exception_id, STRING),
        ),
        descending=False,
    ),
    "sla_deadline": KeysetOrder(
        "sla",
        (
            SortKey(
                func.coalesce(E.sla_deadline, literal(LAST_POSITION)),
                lambda e: e.sla_deadline or LAST_POSITION,
                DATETIME,
            ),
            SortKey(E.exception_id, lambda e: e.exception_id, STRING),
        ),
        descending=False,
    ),
    "severity": KeysetOrder(
        "severity",
        (
            SortKey(E.severity, lambda e: e.severity, _severity_codec()),
            SortKey(E.created_at, lambda e: e.created_at, DATETIME),
            SortKey(E.exception_id, lambda e: e.exception_id, STRING),
        ),
        descending=True,
    ),
}


# What a batch writes back for each exception it changed: everything but the id and what never
# changes after creation.
WRITTEN_BACK = (
    *SOURCE_FIELDS,
    "status",
    "severity",
    "owner",
    "current_playbook_id",
    "current_step",
    "resolved_at",
    "enriched_context",
    "rca_hypothesis",
    "sla_source",
    "sla_pack_version",
)
INSERTED = (
    *WRITTEN_BACK,
    "exception_id",
    "domain_pack_version",
    "policy_pack_version",
    "created_at",
    "updated_at",
)


REWRITTEN = (*WRITTEN_BACK, "updated_at")
_TABLE = E.metadata.tables[E.__tablename__]
_NEW_EXCEPTIONS = Unnested("new_exception", [_TABLE.c[name] for name in INSERTED])
_INSERT_NEW_EXCEPTIONS = _NEW_EXCEPTIONS.insert_into(_TABLE, "exception_id", ("exception_id",))
_CHANGED = Unnested("changed", [_TABLE.c[name] for name in ("exception_id", *REWRITTEN)])
# The session's copies of these rows, if it holds any, are left as they were: the caller holds the
# new states, and `get_for_update` refreshes them (populate_existing); a plain `get` would not.
_WRITE_BACK = (
    update(_TABLE)
    .where(_TABLE.c.tenant_id == bindparam("tenant"), _TABLE.c.exception_id == _CHANGED["exception_id"])
    .values({name: _CHANGED[name] for name in REWRITTEN})
)


@dataclass
class Locked:
    """What `lock_for_intake` read."""

    exceptions: dict[str, models.ExceptionRecord]
    events: dict[uuid.UUID, models.ExceptionEvent]
    at: datetime
    """The database's time once every lock was granted."""


def _locked_statement(with_events: bool) -> Select[Any]:
    """`SELECT now, exception, event FROM (one row) LEFT JOIN (locked FULL JOIN stored ON false)`:
    one row per locked exception and one per stored event (never their product), and one row
    even when there is neither. `clock_timestamp()` is computed for each output row, so the
    latest of them is read after the last locked row came out of its lock. Ids travel as arrays
    (`= ANY`), so the text is one prepared statement whatever the batch's size. On the tables, not
    the ORM entities: the rows become `plain_row`s, outside the session."""
    locked = (
        select(_TABLE)
        .where(_TABLE.c.tenant_id == bindparam("tenant_id"))
        .where(_TABLE.c.exception_id == any_(bindparam("exception_ids", type_=ARRAY(String))))
        .order_by(_TABLE.c.exception_id)
        .with_for_update()
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    one = select(literal(1).label("one")).subquery("one")
    if not with_events:
        return select(func.clock_timestamp(), *locked.c).select_from(one).outerjoin(locked, true())
    stored = (
        select(_EVENTS)
        .where(_EVENTS.c.tenant_id == bindparam("tenant_id"))
        .where(_EVENTS.c.event_id == any_(bindparam("event_ids", type_=ARRAY(Uuid))))
        .cte("stored")
    )
    return (
        select(func.clock_timestamp(), *locked.c, *stored.c)
        .select_from(one)
        .outerjoin(locked.join(stored, false(), full=True), true())
    )


_EVENTS = V.metadata.tables[V.__tablename__]
_EXCEPTION_KEYS = tuple(column.key for column in _TABLE.c)
_EVENT_KEYS = tuple(column.key for column in _EVENTS.c)
_LOCKED = _locked_statement(with_events=False)
_LOCKED_WITH_EVENTS = _locked_statement(with_events=True)


def _same(name: str, stored: Any, sent: Any) -> bool:
    """Whether a stored source field already holds what was sent (JSON compared as jsonb keeps it)."""
    return same_json(stored, sent) if name == "attributes" else bool(stored == sent)


def _as_sent(stored: models.ExceptionRecord, name: str) -> Any:
    """A source field as the source last sent it: a deadline derived from packs was not sent."""
    if name == "sla_deadline" and is_derived(stored.sla_source):
        return None
    return getattr(stored, name)


def source_changes(stored: models.ExceptionRecord, new: NewException) -> tuple[str, ...]:
    """The source-owned fields whose stored value differs from what a re-ingestion sent."""
    return tuple(name for name in SOURCE_FIELDS if not _same(name, _as_sent(stored, name), getattr(new, name)))


def _sent_source(new: NewException) -> models.SlaSource | None:
    return models.SlaSource.SOURCE if new.sla_deadline is not None else None


class ExceptionRepository(Repository):
    def _scoped(self) -> Select[Any]:
        return select(E).where(E.tenant_id == self.tenant_id)

    async def get(self, exception_id: str) -> models.ExceptionRecord | None:
        result = await self.uow.execute(self._scoped().where(E.exception_id == exception_id))
        return result.scalar_one_or_none()

    async def get_for_update(self, exception_id: str) -> models.ExceptionRecord | None:
        """Load and row-lock the exception for the rest of the transaction."""
        statement = self._scoped().where(E.exception_id == exception_id).with_for_update()
        result = await self.uow.execute(statement.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def lock_many(self, exception_ids: Sequence[str]) -> None:
        """Row-lock the stored exceptions among `exception_ids`, in one statement and in id order.

        Two transactions that lock exceptions one at a time, in the order their work meets them,
        can wait on each other for ever (PostgreSQL then breaks the deadlock after a second by
        failing one). Locking them all first, in one order, makes them queue instead."""
        statement = (
            select(E.exception_id)
            .where(E.tenant_id == self.tenant_id, E.exception_id.in_(sorted(set(exception_ids))))
            .order_by(E.exception_id)
            .with_for_update()
        )
        await self.uow.execute(statement)

    async def lock_for_intake(self, exception_ids: Sequence[str], event_ids: Sequence[uuid.UUID] = ()) -> Locked:
        """Row-lock the stored exceptions among `exception_ids` (in id order, as `lock_many`) and
        read them as they are now, the stored events among `event_ids`, and the database's time,
        all in one statement; the rows come outside the session (its copies stay as they were).
        The time is read after the last lock is granted, so it is later than every write the
        locked rows have seen and a timeline stays in order. The events are read in the
        statement's snapshot, taken before any lock wait: an event another transaction committed
        meanwhile is not among them (its insert then finds it)."""
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "exception_ids": sorted(set(exception_ids))}
        statement = _LOCKED_WITH_EVENTS if event_ids else _LOCKED
        if event_ids:
            params["event_ids"] = list(set(event_ids))
        locked = Locked({}, {}, datetime.min.replace(tzinfo=UTC))
        for now, *columns in await self.uow.execute(statement, params):
            locked.at = max(locked.at, now)
            exception = dict(zip(_EXCEPTION_KEYS, columns, strict=False))
            if exception["exception_id"] is not None:
                locked.exceptions[exception["exception_id"]] = plain_row(E, exception)
            event = dict(zip(_EVENT_KEYS, columns[len(_EXCEPTION_KEYS) :], strict=False))
            if event.get("event_id") is not None:
                locked.events[event["event_id"]] = plain_row(V, event)
        return locked

    async def insert_many(self, records: Sequence[models.ExceptionRecord]) -> bool:
        """Insert new exceptions, given whole (transient rows, never added to the session), in one
        statement; False when one of them exists already (then the others may have been inserted).
        The caller orders them by id, so two batches inserting the same new ids queue on the
        first instead of deadlocking."""
        if not records:
            return True
        rows = _NEW_EXCEPTIONS.parameters([[getattr(r, name) for name in INSERTED] for r in records])
        result = await self.uow.execute(_INSERT_NEW_EXCEPTIONS, {"tenant": self.tenant_id, **rows})
        return len(result.all()) == len(records)

    async def write_back(self, records: Sequence[models.ExceptionRecord]) -> None:
        """Store the given states (transient copies of locked rows) of exceptions in one statement:
        every field a batch may change, and `updated_at`."""
        if not records:
            return
        rows = _CHANGED.parameters([[r.exception_id, *(getattr(r, n) for n in REWRITTEN)] for r in records])
        await self.uow.execute(_WRITE_BACK, {"tenant": self.tenant_id, **rows})

    async def get_many(self, exception_ids: Sequence[str]) -> dict[str, models.ExceptionRecord]:
        """One statement for a batch of ids; missing ids are simply absent."""
        result = await self.uow.execute(self._scoped().where(E.exception_id.in_(list(set(exception_ids)))))
        return {row.exception_id: row for row in result.scalars()}

    async def list(
        self, where: ExceptionFilter, order: str = "newest", first: int = 20, after: str | None = None
    ) -> Page[models.ExceptionRecord]:
        keyset = ORDERS[order]
        statement = keyset.apply(where.apply(self.tenant_id, self._scoped()), after, first)
        rows = (await self.uow.execute(statement)).scalars().all()
        return keyset.page(rows, first)

    async def count(self, where: ExceptionFilter) -> int:
        statement = where.apply(
            self.tenant_id, select(func.count()).select_from(E).where(E.tenant_id == self.tenant_id)
        )
        return int(await self.uow.scalar(statement))

    async def upsert_exception(
        self, new: NewException
    ) -> tuple[models.ExceptionRecord, IngestOutcome, tuple[str, ...]]:
        """Insert the exception, or update the source-owned fields that differ.

        Returns the stored row, whether it was created, updated or left unchanged, and the
        names of the fields an update changed. Safe under concurrent replays: the row is
        locked before it is compared, and a concurrent first insert is re-read under lock.
        Test factories' shortcut past the intake: it derives no deadline from packs (a sent one
        is recorded as sent), as it checks no pack.
        """
        existing = await self.get_for_update(new.exception_id)
        if existing is None:
            created = await self._insert_if_absent(new)
            if created is not None:
                return created, IngestOutcome.CREATED, ()
            existing = await self.get_for_update(new.exception_id)
            assert existing is not None, "the concurrent insert that won must be visible once committed"
        changed = source_changes(existing, new)
        if not changed:
            return existing, IngestOutcome.UNCHANGED, ()
        values = {name: getattr(new, name) for name in changed}
        if "sla_deadline" in changed:
            values |= {"sla_source": _sent_source(new), "sla_pack_version": None}
        updated = await self.apply_changes(new.exception_id, **values)
        return updated, IngestOutcome.UPDATED, changed

    async def _insert_if_absent(self, new: NewException) -> models.ExceptionRecord | None:
        statement = (
            insert(E)
            .values(
                tenant_id=self.tenant_id,
                exception_id=new.exception_id,
                severity=new.severity,
                status=new.status,
                owner=new.owner,
                created_at=func.statement_timestamp(),
                updated_at=func.statement_timestamp(),
                resolved_at=func.statement_timestamp() if new.status == models.ExceptionStatus.RESOLVED else None,
                sla_source=_sent_source(new),
                domain_pack_version=self._latest_domain_pack(new.domain),
                policy_pack_version=self._latest_policy_pack(),
                **{name: getattr(new, name) for name in SOURCE_FIELDS},
            )
            .on_conflict_do_nothing(index_elements=[E.tenant_id, E.exception_id])
            .returning(E)
        )
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    def _latest_domain_pack(self, domain: str) -> Any:
        return (
            select(func.max(models.DomainPackVersion.version))
            .where(models.DomainPackVersion.domain == domain)
            .scalar_subquery()
        )

    def _latest_policy_pack(self) -> Any:
        P = models.TenantPolicyPackVersion
        return select(func.max(P.version)).where(P.tenant_id == self.tenant_id).scalar_subquery()

    async def apply_changes(self, exception_id: str, *, at: Any = None, **changes: Any) -> models.ExceptionRecord:
        """Write workflow changes (status, owner, playbook, step…) and set `updated_at` to `at`,
        by default this statement's start (after the row lock the caller holds, unlike now())."""
        statement = (
            update(E)
            .where(E.tenant_id == self.tenant_id, E.exception_id == exception_id)
            .values(**changes, updated_at=at if at is not None else func.statement_timestamp())
            .returning(E)
        )
        result = await self.uow.execute(statement.execution_options(populate_existing=True))
        return result.scalar_one()
