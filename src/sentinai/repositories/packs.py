"""Versioned packs: global domain packs and each tenant's policy packs.

Publishing takes the next version number under a transaction-scoped advisory lock, so
concurrent publishers of the same pack queue up instead of colliding on the version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from sentinai.db import models
from sentinai.domain.deadlines import PackHours, SlaPacks
from sentinai.repositories.base import Repository

D = models.DomainPackVersion
P = models.TenantPolicyPackVersion


@dataclass(frozen=True)
class DomainInForce:
    version: int | None
    """The domain's latest domain pack, None when it has none."""
    exception_types: Any
    """That pack's `exceptionTypes` as stored (None when absent)."""
    sla_hours: Any = None
    """That pack's `slaHours` as stored (None when absent)."""


@dataclass(frozen=True)
class PacksInForce:
    """What the latest packs say about new exceptions of some domains."""

    policy_version: int | None
    tenant_domains: Any
    """The tenant's latest policy pack's `domains` as stored (None when absent)."""
    domains: dict[str, DomainInForce]
    policy_sla_hours: Any = None
    """The tenant's latest policy pack's `sla.hours` as stored (None when absent)."""

    def sla(self, domain: str) -> SlaPacks:
        """What decides the SLA hours of an exception of `domain` (one of the domains asked for)."""
        pack = self.domains[domain]
        return SlaPacks(PackHours(self.policy_version, self.policy_sla_hours), PackHours(pack.version, pack.sla_hours))


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

    async def in_force_for(self, domains: Sequence[str]) -> PacksInForce:
        """What the latest packs declare for ingesting exceptions of `domains`, in one statement:
        the tenant's latest policy pack's `domains` and `sla.hours` and each domain's latest domain
        pack's `exceptionTypes` and `slaHours`, with the versions a new exception records."""
        wanted = (
            func.unnest(bindparam("domains", sorted(set(domains)), type_=ARRAY(String)))
            .table_valued("domain")
            .render_derived(name="wanted")
        )
        latest = (
            select(D.version, D.pack_json["exceptionTypes"].label("types"), D.pack_json["slaHours"].label("hours"))
            .where(D.domain == wanted.c.domain)
            .order_by(D.version.desc())
            .limit(1)
            .lateral("latest")
        )
        tenant_latest = (
            select(P.version, P.pack_json["domains"].label("domains"), P.pack_json["sla"]["hours"].label("hours"))
            .where(P.tenant_id == self.tenant_id)
            .order_by(P.version.desc())
            .limit(1)
            .subquery()
        )
        statement = (
            select(
                wanted.c.domain,
                latest.c.version,
                latest.c.types,
                latest.c.hours,
                tenant_latest.c.version,
                tenant_latest.c.domains,
                tenant_latest.c.hours,
            )
            .select_from(wanted)
            .outerjoin(latest, true())
            .outerjoin(tenant_latest, true())
        )
        rows = (await self.uow.execute(statement)).all()
        policy_version, tenant_domains, policy_hours = rows[0][4:] if rows else (None, None, None)
        return PacksInForce(
            policy_version=policy_version,
            tenant_domains=tenant_domains,
            domains={domain: DomainInForce(version, types, hours) for domain, version, types, hours, *_ in rows},
            policy_sla_hours=policy_hours,
        )

    async def list(self) -> list[models.TenantPolicyPackVersion]:
        statement = select(P).where(P.tenant_id == self.tenant_id).order_by(P.version.desc())
        return list((await self.uow.execute(statement)).scalars())

    async def get_many(self, versions: Sequence[int]) -> dict[int, models.TenantPolicyPackVersion]:
        statement = select(P).where(P.tenant_id == self.tenant_id, P.version.in_(list(set(versions))))
        return {row.version: row for row in (await self.uow.execute(statement)).scalars()}
