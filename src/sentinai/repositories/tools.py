"""Tool definitions: the tenant's own and the global ones (tenant_id NULL)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from sentinai.db import models
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import INTEGER, STRING, KeysetOrder, Page, SortKey

TD = models.ToolDefinition

BY_NAME = KeysetOrder(
    "tools",
    (SortKey(TD.name, lambda t: t.name, STRING), SortKey(TD.tool_id, lambda t: t.tool_id, INTEGER)),
    descending=False,
)


def visible_to(tenant_id: Any) -> ColumnElement[bool]:
    """The tenant's tools plus the global ones: what a tenant may read and call."""
    return or_(TD.tenant_id == tenant_id, TD.tenant_id.is_(None))


class ToolRepository(Repository):
    def _visible(self) -> Select[Any]:
        return select(TD).where(visible_to(self.tenant_id))

    async def register(
        self,
        name: str,
        type: models.ToolType,
        config: dict[str, Any],
        secret_config: dict[str, Any],
        description: str | None = None,
        *,
        global_tool: bool = False,
    ) -> models.ToolDefinition | None:
        """Insert a tool; None when the name is taken in that scope. Global tools need the platform path."""
        statement = (
            insert(TD)
            .values(
                tenant_id=None if global_tool else self.tenant_id,
                name=name,
                type=type,
                description=description,
                config=config,
                secret_config=secret_config,
            )
            .on_conflict_do_nothing()
            .returning(TD)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def get(self, tool_id: int) -> models.ToolDefinition | None:
        return (await self.uow.execute(self._visible().where(TD.tool_id == tool_id))).scalar_one_or_none()

    async def get_many(self, tool_ids: Sequence[int]) -> dict[int, models.ToolDefinition]:
        result = await self.uow.execute(self._visible().where(TD.tool_id.in_(list(set(tool_ids)))))
        return {row.tool_id: row for row in result.scalars()}

    def _listed(self, include_global: bool) -> Select[Any]:
        return self._visible() if include_global else select(TD).where(TD.tenant_id == self.tenant_id)

    async def list(self, include_global: bool = True) -> list[models.ToolDefinition]:
        statement = self._listed(include_global).order_by(TD.name, TD.tool_id)
        return list((await self.uow.execute(statement)).scalars())

    async def page(self, first: int, after: str | None, include_global: bool = True) -> Page[models.ToolDefinition]:
        rows = (await self.uow.execute(BY_NAME.apply(self._listed(include_global), after, first))).scalars().all()
        return BY_NAME.page(rows, first)

    async def count(self, include_global: bool = True) -> int:
        statement = select(func.count()).select_from(self._listed(include_global).subquery())
        return int(await self.uow.scalar(statement))

    async def list_global(self) -> builtins.list[models.ToolDefinition]:
        statement = select(TD).where(TD.tenant_id.is_(None)).order_by(TD.name)
        return list((await self.uow.execute(statement)).scalars())
