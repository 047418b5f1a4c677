"""Playbooks and their ordered steps. Creating a playbook whose name exists adds a version."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from sentinai.db import models
from sentinai.repositories.base import Repository
from sentinai.repositories.pagination import INTEGER, STRING, KeysetOrder, Page, SortKey

PB = models.Playbook
ST = models.PlaybookStep

BY_NAME = KeysetOrder(
    "playbooks",
    (SortKey(PB.name, lambda p: p.name, STRING), SortKey(PB.version, lambda p: p.version, INTEGER)),
    descending=False,
)


@dataclass(frozen=True)
class NewStep:
    name: str
    action_type: str
    params: Any = field(default_factory=dict)
    """A JSON object once the service has checked what the client sent."""
    tool_id: int | None = None


class PlaybookRepository(Repository):
    def _scoped(self) -> Select[Any]:
        return select(PB).where(PB.tenant_id == self.tenant_id)

    async def create(
        self,
        name: str,
        steps: Sequence[NewStep],
        description: str | None = None,
        conditions: dict[str, Any] | None = None,
    ) -> models.Playbook:
        """Store the next version of playbook `name` with its steps, numbered 1..n in order."""
        await self._serialise_on(f"playbook:{self.tenant_id}:{name}")
        latest = await self.uow.scalar(
            select(func.max(PB.version)).where(PB.tenant_id == self.tenant_id, PB.name == name)
        )
        playbook = PB(
            tenant_id=self.tenant_id,
            name=name,
            version=(latest or 0) + 1,
            description=description,
            conditions=conditions or {},
        )
        await self.uow.flush(playbook)
        rows = [
            ST(
                tenant_id=self.tenant_id,
                playbook_id=playbook.playbook_id,
                step_order=order,
                name=step.name,
                action_type=step.action_type,
                params=step.params,
                tool_id=step.tool_id,
            )
            for order, step in enumerate(steps, start=1)
        ]
        await self.uow.flush(*rows)
        return playbook

    async def get(self, playbook_id: int) -> models.Playbook | None:
        return (await self.uow.execute(self._scoped().where(PB.playbook_id == playbook_id))).scalar_one_or_none()

    async def get_many(self, playbook_ids: Sequence[int]) -> dict[int, models.Playbook]:
        result = await self.uow.execute(self._scoped().where(PB.playbook_id.in_(list(set(playbook_ids)))))
        return {row.playbook_id: row for row in result.scalars()}

    async def get_by_name(self, name: str, version: int | None = None) -> models.Playbook | None:
        statement = self._scoped().where(PB.name == name)
        statement = (
            statement.where(PB.version == version) if version else statement.order_by(PB.version.desc()).limit(1)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def list(self, first: int, after: str | None = None, name: str | None = None) -> Page[models.Playbook]:
        statement = self._scoped()
        if name is not None:
            statement = statement.where(PB.name == name)
        rows = (await self.uow.execute(BY_NAME.apply(statement, after, first))).scalars().all()
        return BY_NAME.page(rows, first)

    async def steps_for(self, playbook_ids: Sequence[int]) -> dict[int, builtins.list[models.PlaybookStep]]:
        """Every step of every given playbook, in order, in one statement."""
        statement = (
            select(ST)
            .where(ST.tenant_id == self.tenant_id, ST.playbook_id.in_(list(set(playbook_ids))))
            .order_by(ST.playbook_id, ST.step_order)
        )
        grouped: dict[int, list[models.PlaybookStep]] = {playbook_id: [] for playbook_id in playbook_ids}
        for step in (await self.uow.execute(statement)).scalars():
            grouped[step.playbook_id].append(step)
        return grouped

    async def step_counts(self, playbook_ids: Sequence[int]) -> dict[int, int]:
        """How many steps each of the given playbooks has; a playbook the tenant does not have is absent."""
        statement = (
            select(PB.playbook_id, func.count(ST.step_id))
            .outerjoin(ST, (ST.tenant_id == PB.tenant_id) & (ST.playbook_id == PB.playbook_id))
            .where(PB.tenant_id == self.tenant_id, PB.playbook_id.in_(sorted(set(playbook_ids))))
            .group_by(PB.playbook_id)
        )
        return dict((await self.uow.execute(statement)).all())

    async def get_steps(self, step_ids: Sequence[int]) -> dict[int, models.PlaybookStep]:
        statement = select(ST).where(ST.tenant_id == self.tenant_id, ST.step_id.in_(list(set(step_ids))))
        return {row.step_id: row for row in (await self.uow.execute(statement)).scalars()}

    async def count(self, name: str | None = None) -> int:
        statement = select(func.count()).select_from(PB).where(PB.tenant_id == self.tenant_id)
        if name is not None:
            statement = statement.where(PB.name == name)
        return int(await self.uow.scalar(statement))
