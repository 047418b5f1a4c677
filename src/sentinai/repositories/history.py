"""Verifying the hash chains that make the timeline and the audit log tamper-evident."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from sentinai.db.models import HistoryChainHead
from sentinai.repositories.base import Repository

CHAINS = {
    # chain name -> (history table, its key column, canonical function)
    "exception_event": ("exception_event", "event_id", "sentinai_event_canonical"),
    "audit_log": ("audit_log", "audit_id", "sentinai_audit_canonical"),
}


@dataclass(frozen=True)
class ChainReport:
    chain: str
    tenant_id: str
    links: int
    first_broken_position: int | None  # the first link whose row is missing, changed, or out of order
    unlinked_rows: int  # history rows with no link: written while the chain trigger was bypassed

    @property
    def intact(self) -> bool:
        return self.first_broken_position is None and self.unlinked_rows == 0


def _verify_sql(table: str, key: str, canonical: str) -> str:
    return f"""
WITH links AS (
    SELECT position, row_key, row_hash,
           lag(row_hash, 1, '\\x'::bytea) OVER (ORDER BY position) AS previous_hash,
           lag(position, 1, 0::bigint) OVER (ORDER BY position) AS previous_position
    FROM history_chain_link WHERE tenant_id = :scope AND chain = :chain
), checked AS (
    SELECT links.position,
           row_data.{key} IS NOT NULL
           AND links.previous_position = links.position - 1
           AND links.row_hash = sha256(links.previous_hash || {canonical}(row_data)) AS intact
    FROM links LEFT JOIN {table} AS row_data
      ON coalesce(row_data.tenant_id, '') = :scope AND row_data.{key}::text = links.row_key
)
SELECT (SELECT count(*) FROM checked) AS links,
       (SELECT min(position) FROM checked WHERE NOT intact) AS first_broken,
       (SELECT count(*) FROM {table} AS row_data
         WHERE coalesce(row_data.tenant_id, '') = :scope AND NOT EXISTS (
             SELECT 1 FROM history_chain_link l
             WHERE l.tenant_id = :scope AND l.chain = :chain AND l.row_key = row_data.{key}::text)) AS unlinked
"""


class HistoryRepository(Repository):
    async def chains(self) -> list[tuple[str, str]]:
        """Every (tenant, chain) that has links; '' is the platform's audit chain."""
        statement = select(HistoryChainHead.tenant_id, HistoryChainHead.chain).order_by(
            HistoryChainHead.tenant_id, HistoryChainHead.chain
        )
        return [(row.tenant_id, row.chain) for row in (await self.uow.execute(statement)).all()]

    async def verify(self, chain: str, scope: str | None = None) -> ChainReport:
        """Recompute every link of one chain (the unit of work's tenant, or `scope` for the owner)."""
        table, key, canonical = CHAINS[chain]
        tenant = scope if scope is not None else self.tenant_id
        row = (
            await self.uow.execute(text(_verify_sql(table, key, canonical)), {"scope": tenant, "chain": chain})
        ).one()
        return ChainReport(chain, tenant, row.links, row.first_broken, row.unlinked)
