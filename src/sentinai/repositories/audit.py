"""The PostgreSQL adapter of the audit port: write-once rows in `audit_log`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from sentinai.db import models
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import DATETIME, INTEGER, KeysetOrder, Page, SortKey

A = models.AuditLog

NEWEST_FIRST = KeysetOrder(
    "audit",
    (SortKey(A.occurred_at, lambda a: a.occurred_at, DATETIME), SortKey(A.audit_id, lambda a: a.audit_id, INTEGER)),
    descending=True,
)


@dataclass(frozen=True)
class AuditFilter:
    component: str | None = None
    event: str | None = None
    actor: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def apply(self, statement: Select[Any]) -> Select[Any]:
        for column, value in ((A.component, self.component), (A.event, self.event), (A.actor, self.actor)):
            if value is not None:
                statement = statement.where(column == value)
        if self.occurred_from is not None:
            statement = statement.where(A.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            statement = statement.where(A.occurred_at < self.occurred_to)
        return statement


class AuditLogRepository(Repository):
    async def record(
        self, component: str, event: str, actor: str, details: dict[str, Any], *, tenant_id: str | None = None
    ) -> models.AuditLog:
        """Append an audit row in the caller's transaction.

        In a tenant's unit of work the row belongs to that tenant; on the platform path
        `tenant_id` names the tenant a change affected (None for platform-wide changes).
        """
        owner = self.uow.scope.tenant_id or tenant_id
        row = A(tenant_id=owner, component=component, event=event, actor=actor, details=details)
        await self.uow.flush(row)
        return row

    async def list(self, where: AuditFilter, first: int, after: str | None = None) -> Page[models.AuditLog]:
        statement = where.apply(select(A).where(A.tenant_id == self.tenant_id))
        rows = (await self.uow.execute(NEWEST_FIRST.apply(statement, after, first))).scalars().all()
        return NEWEST_FIRST.page(rows, first)

    async def get_many(self, audit_ids: Sequence[int]) -> dict[int, models.AuditLog]:
        statement = select(A).where(A.tenant_id == self.tenant_id, A.audit_id.in_(list(set(audit_ids))))
        return {row.audit_id: row for row in (await self.uow.execute(statement)).scalars()}

    async def count(self, where: AuditFilter) -> int:
        statement = where.apply(select(func.count()).select_from(A).where(A.tenant_id == self.tenant_id))
        return int(await self.uow.scalar(statement))
