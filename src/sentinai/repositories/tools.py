"""Tool definitions: the tenant's own and the global ones (tenant_id NULL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects.postgresql import insert

from sentinai.db import models
from sentinai.repositories.base import Repository

TD = models.ToolDefinition


class ToolRepository(Repository):
    def _visible(self) -> Select[Any]:
        """The tenant's tools plus the global ones: what a tenant may read and call."""
        return select(TD).where(or_(TD.tenant_id == self.tenant_id, TD.tenant_id.is_(None)))

    async def register(
        self, name: str, type: models.ToolType, config: dict[str, Any], secret_config: dict[str, Any],
        description: str | None = None, *, global_tool: bool = False,
    ) -> models.ToolDefinition | None:
        """Insert a tool; None when the name is taken in that scope. Global tools need the platform path."""
        statement = (
            insert(TD)
            .values(
                tenant_id=None if global_tool else self.tenant_id, name=name, type=type,
                description=description, config=config, secret_config=secret_config,
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

    async def list(self, include_global: bool = True) -> list[models.ToolDefinition]:
        statement = self._visible() if include_global else select(TD).where(TD.tenant_id == self.tenant_id)
        return list((await self.uow.execute(statement.order_by(TD.name, TD.tool_id))).scalars())

    async def list_global(self) -> list[models.ToolDefinition]:
        statement = select(TD).where(TD.tenant_id.is_(None)).order_by(TD.name)
        return list((await self.uow.execute(statement)).scalars())
