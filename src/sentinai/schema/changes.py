"""The change feed: a tenant's committed changes in one ordered, resumable stream."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.schema.exceptions import ExceptionEventType, ExceptionType
from sentinai.schema.scalars import SafeInt
from sentinai.schema.tenants import AuditEntryType


@strawberry.enum(name="ChangeSource", description="What a change is.")
class ChangeSource(enum.Enum):
    EXCEPTION_EVENT = strawberry.enum_value(
        "exception_event", description="An event appended to a timeline; it carries the exception's state change."
    )
    AUDIT_LOG = strawberry.enum_value(
        "audit_log", description="A configuration change or a remediation decision (an audit entry)."
    )


@strawberry.type(
    name="Change",
    description=(
        "One committed change at its position in your tenant's change log. Positions only move forward "
        "and never skip: a change that commits late is never overtaken by a later position."
    ),
)
class ChangeType:
    position: SafeInt = strawberry.field(description="Its position; the feed's cursor is this number as a string.")
    source: ChangeSource = strawberry.field(description="An event or an audit entry.")
    exception_id: str | None = strawberry.field(description="The exception an event belongs to (null for audit).")
    recorded_at: datetime = strawberry.field(description="When the change was written (its transaction's time).")
    _row: strawberry.Private[Any]
    _event: strawberry.Private[Any] = None
    """The event row when it was read with the change (live timelines), else loaded on demand."""

    @classmethod
    def from_row(cls, row: Any, event: Any = None) -> ChangeType:
        return cls(
            position=SafeInt(row.position),
            source=ChangeSource(row.source),
            exception_id=row.exception_id,
            recorded_at=row.recorded_at,
            _row=row,
            _event=event,
        )

    @strawberry.field(description="The event, when the change is one.")
    async def event(self, info: Info[Context, None]) -> ExceptionEventType | None:
        if self._row.source != ChangeSource.EXCEPTION_EVENT.value:
            return None
        row = self._event or await info.context.loaders.by_kind["event"].load(uuid.UUID(self._row.row_key))
        return ExceptionEventType.from_row(row) if row else None

    @strawberry.field(description="The audit entry, when the change is one.")
    async def audit_entry(self, info: Info[Context, None]) -> AuditEntryType | None:
        if self._row.source != ChangeSource.AUDIT_LOG.value:
            return None
        row = await info.context.loaders.by_kind["audit"].load(int(self._row.row_key))
        return AuditEntryType.from_row(row) if row else None


@strawberry.enum(name="ExceptionChangeKind", description="What a change did to its exception.")
class ExceptionChangeKind(enum.Enum):
    CREATED = "created"
    CHANGED = "changed"
    RESOLVED = "resolved"


@strawberry.type(
    name="ExceptionChange",
    description="A change to an exception, for a live table: the event, its kind and the exception as it is now.",
)
class ExceptionChangeType:
    position: SafeInt = strawberry.field(description="Its position in the change log; resume with `after`.")
    kind: ExceptionChangeKind = strawberry.field(description="CREATED, CHANGED or RESOLVED.")
    matches_filter: bool = strawberry.field(
        description="Whether the exception matches the subscription's filter now; false when this change took it out."
    )
    _change: strawberry.Private[Any]
    _exception: strawberry.Private[Any]
    _event: strawberry.Private[Any]

    @classmethod
    def from_rows(cls, change: Any, exception: Any, event: Any, matches: bool) -> ExceptionChangeType:
        if event.event_type == "ExceptionCreated":
            kind = ExceptionChangeKind.CREATED
        elif (event.state_change or {}).get("status") == "RESOLVED":
            kind = ExceptionChangeKind.RESOLVED
        else:
            kind = ExceptionChangeKind.CHANGED
        return cls(
            position=SafeInt(change.position),
            kind=kind,
            matches_filter=matches,
            _change=change,
            _exception=exception,
            _event=event,
        )

    @strawberry.field(description="The exception as it is after this change (or later ones).")
    def exception(self) -> ExceptionType:
        return ExceptionType.from_row(self._exception)

    @strawberry.field(description="The timeline event that made the change.")
    def event(self) -> ExceptionEventType:
        return ExceptionEventType.from_row(self._event)
