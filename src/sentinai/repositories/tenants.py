"""Tenants. Created and changed only on the platform-admin path; a tenant reads only itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert

from sentinai.db import models
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import STRING, KeysetOrder, Page, SortKey

T = models.Tenant

BY_ID = KeysetOrder("tenants", (SortKey(T.tenant_id, lambda t: t.tenant_id, STRING),), descending=False)


class TenantRepository(Repository):
    async def create(self, tenant_id: str, name: str) -> models.Tenant | None:
        """Insert a tenant; None if the id is taken (the caller reports the conflict)."""
        statement = insert(T).values(tenant_id=tenant_id, name=name).on_conflict_do_nothing().returning(T)
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def get(self, tenant_id: str) -> models.Tenant | None:
        return (await self.uow.execute(select(T).where(T.tenant_id == tenant_id))).scalar_one_or_none()

    async def current(self) -> models.Tenant | None:
        return await self.get(self.tenant_id)

    async def list(
        self, first: int, after: str | None = None, status: models.TenantStatus | None = None
    ) -> Page[models.Tenant]:
        statement: Select[Any] = select(T)
        if status is not None:
            statement = statement.where(T.status == status)
        rows = (await self.uow.execute(BY_ID.apply(statement, after, first))).scalars().all()
        return BY_ID.page(rows, first)

    async def set_status(self, tenant_id: str, status: models.TenantStatus) -> models.Tenant | None:
        statement = (
            update(T)
            .where(T.tenant_id == tenant_id)
            .values(status=status, updated_at=func.statement_timestamp())
            .returning(T)
            .execution_options(populate_existing=True)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def count(self, status: models.TenantStatus | None = None) -> int:
        statement = select(func.count()).select_from(T)
        if status is not None:
            statement = statement.where(T.status == status)
        return int(await self.uow.scalar(statement))

    async def get_many(self, tenant_ids: Sequence[str]) -> dict[str, models.Tenant]:
        result = await self.uow.execute(select(T).where(T.tenant_id.in_(list(set(tenant_ids)))))
        return {row.tenant_id: row for row in result.scalars()}
