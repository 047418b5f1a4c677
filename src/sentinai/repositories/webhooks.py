"""Webhook endpoints and their delivery attempts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal_column, or_, select, update

from sentinai.db import models
from sentinai.repositories.base import Repository

W = models.WebhookEndpoint
D = models.WebhookDelivery
C = models.ChangeLog
LEASE: ColumnElement[Any] = literal_column("interval '30 seconds'")
"""Longer than a round of deliveries (a few requests, each bounded by its timeout)."""


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
        statement = select(W).where(W.tenant_id == self.tenant_id).order_by(W.endpoint_id)
        return list((await self.uow.execute(statement)).scalars())

    async def change(self, endpoint_id: int, **values: Any) -> W | None:
        statement = (
            update(W)
            .where(W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id)
            .values(**values, updated_at=func.statement_timestamp())
            .returning(W)
        )
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    async def lease(self, endpoint_id: int) -> W | None:
        """Take the endpoint for one delivery round, unless another process holds it or it is not due."""
        statement = (
            update(W)
            .where(W.tenant_id == self.tenant_id, W.endpoint_id == endpoint_id, _deliverable())
            .values(leased_until=func.statement_timestamp() + LEASE)
            .returning(W)
        )
        return (await self.uow.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()

    async def end_round(self, leased: W, delivered: int, **values: Any) -> None:
        """Release the lease and record the round. `position` moves to `delivered` only if nobody
        moved it during the round: a replay asked for meanwhile is kept, not overwritten."""
        position = case((W.position == leased.position, delivered), else_=W.position)
        statement = (
            update(W)
            .where(W.tenant_id == self.tenant_id, W.endpoint_id == leased.endpoint_id)
            .values(**values, position=position, leased_until=None, updated_at=func.statement_timestamp())
        )
        await self.uow.execute(statement)

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

    async def due(self, limit: int) -> list[tuple[str, int]]:
        """(tenant, endpoint) pairs with changes to deliver and no wait or lease pending, on the
        platform path: across tenants."""
        pending = exists().where(C.tenant_id == W.tenant_id, C.position > W.position)
        statement = (
            select(W.tenant_id, W.endpoint_id).where(_deliverable(), pending).order_by(W.next_attempt_at).limit(limit)
        )
        return [(tenant_id, endpoint_id) for tenant_id, endpoint_id in (await self.uow.execute(statement)).all()]


def _deliverable() -> ColumnElement[bool]:
    """Enabled, its backoff over, and no other process's lease running (by the database's clock)."""
    now = func.statement_timestamp()
    return and_(W.enabled, W.next_attempt_at <= now, or_(W.leased_until.is_(None), W.leased_until < now))
