"""Versioned packs: global domain packs and each tenant's policy packs.

Publishing takes the next version number under a transaction-scoped advisory lock, so
concurrent publishers of the same pack queue up instead of colliding on the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_

from sentinai.db import models
from sentinai.repositories.base import Repository

D = models.DomainPackVersion
P = models.TenantPolicyPackVersion


class DomainPackRepository(Repository):
    async def publish(self, domain: str, pack: dict[str, Any], published_by: str) -> models.DomainPackVersion:
        await self._serialise_on(f"domain-pack:{domain}")
        latest = await self.uow.scalar(select(func.max(D.version)).where(D.domain == domain))
        row = D(domain=domain, version=(latest or 0) + 1, pack_json=pack, published_by=published_by)
        await self.uow.flush(row)
        return row

    async def get(self, domain: str, version: int | None = None) -> models.DomainPackVersion | None:
        """A specific version, or the latest when `version` is None."""
        statement = select(D).where(D.domain == domain)
        statement = statement.where(D.version == version) if version else statement.order_by(D.version.desc()).limit(1)
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], models.DomainPackVersion]:
        statement = select(D).where(tuple_(D.domain, D.version).in_(list(set(keys))))
        return {(row.domain, row.version): row for row in (await self.uow.execute(statement)).scalars()}


class PolicyPackRepository(Repository):
    async def publish(self, pack: dict[str, Any], published_by: str) -> models.TenantPolicyPackVersion:
        await self._serialise_on(f"policy-pack:{self.tenant_id}")
        latest = await self.uow.scalar(select(func.max(P.version)).where(P.tenant_id == self.tenant_id))
        row = P(tenant_id=self.tenant_id, version=(latest or 0) + 1, pack_json=pack, published_by=published_by)
        await self.uow.flush(row)
        return row

    async def get(self, version: int | None = None) -> models.TenantPolicyPackVersion | None:
        statement = select(P).where(P.tenant_id == self.tenant_id)
        statement = statement.where(P.version == version) if version else statement.order_by(P.version.desc()).limit(1)
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def kinds_in_force(self, domain: str) -> tuple[Any, Any]:
        """What the latest packs declare for ingestion, in one statement: the tenant's latest
        policy pack's `domains` and `domain`'s latest domain pack's `exceptionTypes` (None when absent)."""
        tenant_domains = (
            select(P.pack_json["domains"]).where(P.tenant_id == self.tenant_id).order_by(P.version.desc()).limit(1)
        )
        domain_types = (
            select(D.pack_json["exceptionTypes"]).where(D.domain == domain).order_by(D.version.desc()).limit(1)
        )
        row = (await self.uow.execute(select(tenant_domains.scalar_subquery(), domain_types.scalar_subquery()))).one()
        return row[0], row[1]

    async def list(self) -> list[models.TenantPolicyPackVersion]:
        statement = select(P).where(P.tenant_id == self.tenant_id).order_by(P.version.desc())
        return list((await self.uow.execute(statement)).scalars())

    async def get_many(self, versions: Sequence[int]) -> dict[int, models.TenantPolicyPackVersion]:
        statement = select(P).where(P.tenant_id == self.tenant_id, P.version.in_(list(set(versions))))
        return {row.version: row for row in (await self.uow.execute(statement)).scalars()}
