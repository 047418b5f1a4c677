"""Builders for test data, going through the same repositories the service uses."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sentinai.db import models
from sentinai.db.session import Scope
from sentinai.repositories.exceptions import NewException
from sentinai.repositories.unit_of_work import UnitOfWork


class Factory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    def uow(self, tenant_id: str | None = None, *, read_only: bool = False) -> UnitOfWork:
        scope = Scope.tenant(tenant_id) if tenant_id else Scope.platform()
        return UnitOfWork(self.session_factory, scope, read_only=read_only)

    async def tenant(self, label: str = "t", status: models.TenantStatus = models.TenantStatus.ACTIVE) -> str:
        tenant_id = f"{label}-{uuid.uuid4().hex[:12]}"
        async with self.uow() as uow:
            await uow.tenants.create(tenant_id, f"Tenant {label.upper()}")
            if status != models.TenantStatus.ACTIVE:
                await uow.tenants.set_status(tenant_id, status)
            await uow.commit()
        return tenant_id

    async def exception(
        self, tenant_id: str, exception_id: str | None = None, **overrides: Any
    ) -> models.ExceptionRecord:
        fields: dict[str, Any] = {
            "exception_id": exception_id or f"EXC-{uuid.uuid4().hex[:8]}",
            "domain": "Finance",
            "type": "SettlementFailure",
            "severity": models.Severity.HIGH,
            "source_system": "Murex",
            "entity": "CPTY-001",
            "amount": Decimal("1250.00"),
            "summary": "Trade failed to settle",
            "attributes": {"trade_id": "T-1"},
        }
        fields.update(overrides)
        async with self.uow(tenant_id) as uow:
            record, _, _ = await uow.exceptions.upsert_exception(NewException(**fields))
            await uow.commit()
        return record

    async def events(
        self, tenant_id: str, exception_id: str, count: int, event_type: str = "CommentAdded"
    ) -> list[uuid.UUID]:
        from sentinai.domain.events import EventEnvelope

        ids = [uuid.uuid4() for _ in range(count)]
        async with self.uow(tenant_id) as uow:
            for index, event_id in enumerate(ids):
                await uow.events.append_event_if_new(
                    EventEnvelope(
                        event_id, exception_id, event_type, models.ActorType.USER, "tester", {"text": f"note {index}"}
                    )
                )
            await uow.commit()
        return ids

    async def comment_slowly(
        self, tenant_id: str, exception_id: str, count: int, rng: random.Random, before: float, after: float
    ) -> None:
        """`count` comments, each in its own transaction that waits up to `before` seconds after it
        opens (its events' `created_at`) and up to `after` between appending and committing, as the
        agents' service does it: concurrent writers commit out of the order they started in."""
        from sentinai.domain.events import EventEnvelope, StateChange
        from sentinai.services.exceptions import record_exception_event

        for _ in range(count):
            async with self.uow(tenant_id) as uow:
                await asyncio.sleep(rng.uniform(0, before))
                envelope = EventEnvelope(
                    uuid.uuid4(),
                    exception_id,
                    "CommentAdded",
                    models.ActorType.AGENT,
                    "writer",
                    {"text": "x"},
                    StateChange(),
                )
                await record_exception_event(uow, envelope)
                await asyncio.sleep(rng.uniform(0, after))
                await uow.commit()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
