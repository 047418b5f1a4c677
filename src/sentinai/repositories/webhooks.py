"""Webhook endpoints and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update

from sentinai.db import models
from sentinai.repositories.base import Repository

W = models.WebhookEndpoint
D = models.WebhookDelivery
C = models.ChangeLog


class WebhookRepository(Repository):
    async def create(self, url: str, description: str | None, secret: str, position: int, actor: str) -> W:
        row = W(
            tenant_id=self.tenant_id,
            url=url,
            description=description,
            secret=secret,
            position=position,
            created_by=actor,
        )
        await self.uow.flush(row)
        return row

    async def endpoints(self) -> list[W]:
        """The tenant's endpoints that are not deleted (what counts against its quota)."""
        statement = select(W).where(W.tenant_id == self.tenant_id, W.deleted_at.is_(None)).order_by(W.endpoint_id)
        return list((await self.uow.execute(statement)).scalars())

    async def get(self, endpoint_id: int) -> W | None:
        """An endpoint, deleted or not."""
        statement = select(W).where(W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id)
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def change(self, endpoint_id: int, **values: Any) -> W | None:
        """Change an endpoint that is not deleted; None when there is none."""
        statement = (
            update(W)
            .where(W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id, W.deleted_at.is_(None))
            .values(**values, updated_at=func.statement_timestamp())
            .returning(W)
        )
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    async def delete(self, endpoint_id: int) -> W | None:
        """Mark an endpoint deleted, now; None when it is already deleted or was never there. The row
        stays (its delivery log is kept, and a repeated delete answers as the first did)."""
        return await self.change(endpoint_id, deleted_at=func.statement_timestamp(), leased_until=None)

    async def lease(self, endpoint_id: int, seconds: float) -> W | None:
        """Claim a due endpoint for `seconds`, unless another process holds it. The claim's
        `leased_until` is its token: `advance` renews it, `end_round` releases it."""
        statement = (
            update(W)
            .where(W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id, _deliverable())
            .values(leased_until=_after(seconds))
            .returning(W)
        )
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    async def advance(
        self, endpoint_id: int, token: datetime, moved: tuple[int, int], seconds: float
    ) -> datetime | None:
        """Record a delivery (`moved`: from position, to position) and renew the claim for the next
        one. None — stop the round — when the claim is no longer ours, the endpoint was disabled or
        deleted, or its position moved meanwhile (a replay asked for during the round is kept)."""
        statement = (
            update(W)
            .where(*self._held(endpoint_id, token), W.position == moved[0], W.enabled, W.deleted_at.is_(None))
            .values(position=moved[1], leased_until=_after(seconds))
            .returning(W.leased_until)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def end_round(self, endpoint_id: int, token: datetime, **values: Any) -> None:
        """Release the claim and record the endpoint's health after the round, if the claim is still ours."""
        statement = (
            update(W)
            .where(*self._held(endpoint_id, token))
            .values(**values, leased_until=None, updated_at=func.statement_timestamp())
        )
        await self.uow.execute(statement)

    def _held(self, endpoint_id: int, token: datetime) -> tuple[ColumnElement[bool], ...]:
        return (W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id, W.leased_until == token)

    async def record_attempt(
        self, endpoint_id: int, position: int, status_code: int | None, error: str | None, ms: int, ok: bool
    ) -> None:
        row = D(
            tenant_id=self.tenant_id,
            endpoint_id=endpoint_id,
            position=position,
            status_code=status_code,
            error=error,
            duration_ms=ms,
            succeeded=ok,
        )
        await self.uow.flush(row)

    async def deliveries(self, endpoint_id: int, first: int) -> list[D]:
        statement = (
            select(D)
            .where(D.tenant_id == self.tenant_id, D.endpoint_id == endpoint_id)
            .order_by(D.attempt_id.desc())
            .limit(first)
        )
        return list((await self.uow.execute(statement)).scalars())

    async def due(self, limit: int, per_tenant: int) -> list[tuple[str, int]]:
        """(tenant, endpoint) pairs with changes to deliver and no wait or lease pending, on the
        platform path: across tenants, longest waiting first, at most `per_tenant` of one tenant
        (so one tenant's many endpoints cannot fill the list and hide the others')."""
        pending = exists().where(C.tenant_id == W.tenant_id, C.position > W.position)
        rank = func.row_number().over(partition_by=W.tenant_id, order_by=(W.next_attempt_at, W.endpoint_id))
        ranked = (
            select(W.tenant_id, W.endpoint_id, W.next_attempt_at, rank.label("rank"))
            .where(_deliverable(), pending)
            .subquery()
        )
        statement = (
            select(ranked.c.tenant_id, ranked.c.endpoint_id)
            .where(ranked.c.rank <= per_tenant)
            .order_by(ranked.c.next_attempt_at, ranked.c.tenant_id, ranked.c.endpoint_id)
            .limit(limit)
        )
        return [(tenant_id, endpoint_id) for tenant_id, endpoint_id in (await self.uow.execute(statement)).all()]


def _after(seconds: float) -> ColumnElement[datetime]:
    return func.statement_timestamp() + func.make_interval(0, 0, 0, 0, 0, 0, float(seconds))


def _deliverable() -> ColumnElement[bool]:
    """Enabled, not deleted, its backoff over, and no other process's claim running (by the database's clock)."""
    now = func.statement_timestamp()
    return and_(
        W.enabled,
        W.deleted_at.is_(None),
        W.next_attempt_at <= now,
        or_(W.leased_until.is_(None), W.leased_until < now),
    )
