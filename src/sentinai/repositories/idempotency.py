"""Idempotency keys: claiming a key for a request, reading back what it answered, purging old keys.

The scope of a key is the unit of work's: its tenant, or the platform (`tenant_id` NULL) for the
platform-admin mutations. Row-level security holds each scope to its own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from sentinai.db import models
from sentinai.repositories.base import Repository

K = models.IdempotencyKey
PURGE_BATCH = 100
"""Expired keys one claim deletes at most: the purge's cost per mutation stays bounded."""


@dataclass(frozen=True)
class StoredKey:
    request_digest: bytes
    result: Any


class IdempotencyRepository(Repository):
    @property
    def _scope(self) -> str | None:
        return self.uow.scope.tenant_id

    def _in_scope(self) -> ColumnElement[bool]:
        return K.tenant_id.is_(None) if self._scope is None else K.tenant_id == self._scope

    async def claim(self, key_digest: bytes, request_digest: bytes) -> bool:
        """Insert the key; False when the scope already holds it. While another transaction holds
        the same new key, this waits for it to end: the key is the mutation's lock."""
        statement = (
            insert(K)
            .values(tenant_id=self._scope, key_digest=key_digest, request_digest=request_digest)
            .on_conflict_do_nothing(index_elements=[K.tenant_id, K.key_digest])
            .returning(K.idempotency_id)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none() is not None

    async def stored(self, key_digest: bytes) -> StoredKey | None:
        statement = select(K.request_digest, K.result).where(self._in_scope(), K.key_digest == key_digest)
        row = (await self.uow.execute(statement)).one_or_none()
        return None if row is None else StoredKey(bytes(row.request_digest), row.result)

    async def remember(self, key_digest: bytes, result: Any) -> None:
        statement = update(K).where(self._in_scope(), K.key_digest == key_digest).values(result=result)
        await self.uow.execute(statement)

    async def purge(self, retention: timedelta, key_digest: bytes) -> None:
        """Delete this scope's keys older than `retention`: `key_digest`'s, so that it is new
        again, and up to PURGE_BATCH others, oldest first. Rows another transaction is purging
        are skipped, not waited for (two purges never deadlock)."""
        expired = self._in_scope() & (K.created_at < func.statement_timestamp() - retention)
        # Materialised, so the batch is chosen once: inlined into the DELETE, the locking subquery
        # may be run again for each row the DELETE scans and purge more than PURGE_BATCH rows.
        oldest = (
            select(K.idempotency_id)
            .where(expired)
            .order_by(K.created_at)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
            .cte("oldest")
            .prefix_with("MATERIALIZED")
        )
        own = select(K.idempotency_id).where(expired, K.key_digest == key_digest)
        batch = select(oldest.c.idempotency_id)
        await self.uow.execute(delete(K).where(K.idempotency_id.in_(batch) | K.idempotency_id.in_(own)))

    async def row(self, table: str, identity: list[Any]) -> Any:
        """The ORM row of `table` with this primary key, as the scope sees it now (None if gone)."""
        mapper = next(m for m in models.Base.registry.mappers if m.local_table.name == table)
        columns = mapper.primary_key
        values = [column.type.python_type(value) for column, value in zip(columns, identity, strict=True)]
        statement = select(mapper.class_).where(*(column == value for column, value in zip(columns, values)))
        return (await self.uow.execute(statement)).scalar_one_or_none()
