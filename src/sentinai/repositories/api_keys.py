"""API keys. Only the SHA-256 of a key is stored; the key itself is shown once, at creation.

The keys are 256-bit random secrets, so a fast hash is enough (as GitHub and Stripe do):
there is no low-entropy password to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from sentinai.db import models
from sentinai.db.notifications import CREDENTIALS_CHANNEL
from sentinai.repositories.base import Repository

K = models.ApiKey
KEY_PREFIX = "sk_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class KeyOwner:
    """What an API key authenticates as, read before any tenant is known."""

    tenant_id: str
    key_id: uuid.UUID
    role: models.ApiKeyRole
    tenant_status: models.TenantStatus
    expires_at: datetime | None = None


class ApiKeyRepository(Repository):
    async def create(
        self,
        name: str,
        role: models.ApiKeyRole,
        created_by: str,
        *,
        platform_target: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[models.ApiKey, str]:
        """Store a new key; returns the row and the plaintext key (never stored).

        In a tenant's unit of work the key is that tenant's. `platform_target` names the
        tenant only on the platform-admin path, which has no tenant of its own.
        """
        tenant_id = self.uow.scope.tenant_id or platform_target
        if tenant_id is None or (self.uow.scope.tenant_id and platform_target not in (None, tenant_id)):
            raise PermissionError("an API key is created in the unit of work's tenant")
        key = generate_key()
        row = K(
            tenant_id=tenant_id,
            name=name,
            role=role,
            key_prefix=key[:10],
            key_hash=hash_key(key),
            created_by=created_by,
            expires_at=expires_at,
        )
        await self.uow.flush(row)
        return row, key

    async def list(self, include_revoked: bool = False) -> list[models.ApiKey]:
        statement = select(K).where(K.tenant_id == self.tenant_id).order_by(K.created_at, K.key_id)
        if not include_revoked:
            statement = statement.where(K.revoked_at.is_(None))
        return list((await self.uow.execute(statement)).scalars())

    async def revoke(self, key_id: uuid.UUID) -> models.ApiKey | None:
        statement = (
            update(K)
            .where(K.tenant_id == self.tenant_id, K.key_id == key_id, K.revoked_at.is_(None))
            .values(revoked_at=func.statement_timestamp())
            .returning(K)
            .execution_options(populate_existing=True)
        )
        return (await self.uow.execute(statement)).scalar_one_or_none()

    async def find_owner(self, key: str) -> KeyOwner | None:
        """Authenticate a presented key (runs in the authentication scope, across tenants)."""
        statement = (
            select(K.tenant_id, K.key_id, K.role, models.Tenant.status, K.expires_at)
            .join(models.Tenant, models.Tenant.tenant_id == K.tenant_id)
            .where(K.key_hash == hash_key(key), K.revoked_at.is_(None))
            .where(or_(K.expires_at.is_(None), K.expires_at > func.statement_timestamp()))
        )
        row = (await self.uow.execute(statement)).one_or_none()
        return KeyOwner(*row) if row is not None else None

    async def get_many(self, key_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, models.ApiKey]:
        statement = select(K).where(K.tenant_id == self.tenant_id, K.key_id.in_(list(set(key_ids))))
        return {row.key_id: row for row in (await self.uow.execute(statement)).scalars()}

    async def announce_credentials_changed(self) -> None:
        """Tell every process, when this transaction commits, to forget its cached key lookups."""
        await self.uow.execute(select(func.pg_notify(CREDENTIALS_CHANNEL, "")))
