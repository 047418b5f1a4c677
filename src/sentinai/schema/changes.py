"""The change feed: a tenant's committed changes in one ordered, resumable stream."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.schema.exceptions import ExceptionEventType
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

    @classmethod
    def from_row(cls, row: Any) -> ChangeType:
        return cls(
            position=SafeInt(row.position),
            source=ChangeSource(row.source),
            exception_id=row.exception_id,
            recorded_at=row.recorded_at,
            _row=row,
        )

    @strawberry.field(description="The event, when the change is one.")
    async def event(self, info: Info[Context, None]) -> ExceptionEventType | None:
        if self._row.source != ChangeSource.EXCEPTION_EVENT.value:
            return None
        row = await info.context.loaders.by_kind["event"].load(uuid.UUID(self._row.row_key))
        return ExceptionEventType.from_row(row) if row else None

    @strawberry.field(description="The audit entry, when the change is one.")
    async def audit_entry(self, info: Info[Context, None]) -> AuditEntryType | None:
        if self._row.source != ChangeSource.AUDIT_LOG.value:
            return None
        row = await info.context.loaders.by_kind["audit"].load(int(self._row.row_key))
        return AuditEntryType.from_row(row) if row else None
