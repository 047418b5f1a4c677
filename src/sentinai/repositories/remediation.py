"""Remediation plans: a proposed fix for an exception and the human decision on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, update

from sentinai.db import models
from sentinai.repositories.base import Repository

R = models.RemediationPlan


@dataclass(frozen=True)
class NewPlan:
    exception_id: str
    root_cause: str
    confidence: float | Decimal
    """As the client sent it; a Decimal of 3 places once `services.remediation` has checked it."""
    action_type: str
    risk_level: models.RiskLevel
    requires_approval: bool
    proposed_by: str
    action_params: Any = field(default_factory=dict)
    """A JSON object once the service has checked what the client sent."""


class RemediationPlanRepository(Repository):
    def _scoped(self) -> Select[Any]:
        return select(R).where(R.tenant_id == self.tenant_id)

    async def propose(self, plan: NewPlan) -> models.RemediationPlan:
        row = R(tenant_id=self.tenant_id, **plan.__dict__)
        await self.uow.flush(row)
        return row

    async def get(self, plan_id: int) -> models.RemediationPlan | None:
        return (await self.uow.execute(self._scoped().where(R.plan_id == plan_id))).scalar_one_or_none()

    async def get_for_update(self, plan_id: int) -> models.RemediationPlan | None:
        statement = self._scoped().where(R.plan_id == plan_id).with_for_update()
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    async def change(self, plan_id: int, **changes: Any) -> models.RemediationPlan:
        statement = (
            update(R)
            .where(R.tenant_id == self.tenant_id, R.plan_id == plan_id)
            .values(**changes, updated_at=func.statement_timestamp())
            .returning(R)
            .execution_options(populate_existing=True)
        )
        return (await self.uow.execute(statement)).scalar_one()

    async def plans_for(self, exception_ids: Sequence[str]) -> dict[str, list[models.RemediationPlan]]:
        statement = (
            self._scoped()
            .where(R.exception_id.in_(list(set(exception_ids))))
            .order_by(R.exception_id, R.created_at.desc(), R.plan_id.desc())
        )
        grouped: dict[str, list[models.RemediationPlan]] = {exception_id: [] for exception_id in exception_ids}
        for plan in (await self.uow.execute(statement)).scalars():
            grouped[plan.exception_id].append(plan)
        return grouped

    async def get_many(self, plan_ids: Sequence[int]) -> dict[int, models.RemediationPlan]:
        result = await self.uow.execute(self._scoped().where(R.plan_id.in_(list(set(plan_ids)))))
        return {row.plan_id: row for row in result.scalars()}
