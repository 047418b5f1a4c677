"""Authentication: who is calling, from the bearer credential only.

An API key belongs to exactly one tenant; the tenant of every request comes from the
key and nothing the client sends can change it. The platform-admin token (from the
environment) manages tenants and domain packs and belongs to no tenant.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sentinai.db.session import Scope
from sentinai.domain.actors import PLATFORM_ADMIN, Actor
from sentinai.domain.enums import ActorType, ApiKeyRole, TenantStatus
from sentinai.errors import AuthenticationError, ForbiddenError
from sentinai.repositories.api_keys import KEY_PREFIX, KeyOwner, hash_key
from sentinai.repositories.unit_of_work import UnitOfWork

_ACTOR_TYPE = {ApiKeyRole.AGENT: ActorType.AGENT}


@dataclass(frozen=True)
class Principal:
    actor: Actor
    tenant_id: str | None  # None only for the platform admin
    role: ApiKeyRole | None  # None only for the platform admin
    key_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    """When the credential stops working (None: not before it is revoked)."""

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def is_platform_admin(self) -> bool:
        return self.tenant_id is None

    @property
    def role_name(self) -> str:
        """VIEWER, OPERATOR, AGENT, ADMIN, or PLATFORM_ADMIN: what `viewer.role` answers and logs show."""
        return self.role.name if self.role is not None else "PLATFORM_ADMIN"


PLATFORM_PRINCIPAL = Principal(PLATFORM_ADMIN, None, None)


def principal_for(owner: KeyOwner) -> Principal:
    actor_id = f"key:{owner.key_id.hex[:12]}"
    actor = Actor(actor_id, owner.role, _ACTOR_TYPE.get(owner.role, ActorType.USER))
    return Principal(actor, owner.tenant_id, owner.role, owner.key_id, owner.expires_at)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError("missing credentials: send `Authorization: Bearer <api key>`")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("the Authorization header must be `Bearer <api key>`")
    return token.strip()


class Authenticator:
    """Resolves credentials to principals, caching key lookups for a few seconds.

    The cache bounds how long a revoked key or a suspended tenant keeps working
    (`SENTINAI_AUTH_CACHE_SECONDS`, default 5 s; 0 disables it).
    """

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], admin_token: str | None, cache_seconds: float
    ) -> None:
        self._session_factory = session_factory
        self._admin_token = admin_token
        self._cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[float, KeyOwner | None]] = {}
        """Lookups by key hash: when each was read (monotonic seconds), and what it found."""
        self._running: dict[bytes, tuple[float, asyncio.Future[KeyOwner | None]]] = {}
        self._forgotten = 0

    async def authenticate(self, authorization: str | None, max_age: float | None = None) -> Principal:
        """The caller of `authorization`. `max_age` bounds, in seconds, how old a cached lookup may
        be (a live subscription asks for fresh ones: it must stop within a second of a revocation
        even if this process missed the revocation's notification)."""
        token = bearer_token(authorization)
        if self._admin_token and hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return PLATFORM_PRINCIPAL
        if not token.startswith(KEY_PREFIX):
            raise AuthenticationError("invalid API key")
        owner = await self._owner(token, self._cache_seconds if max_age is None else min(max_age, self._cache_seconds))
        if owner is None or (owner.expires_at is not None and owner.expires_at <= datetime.now(UTC)):
            raise AuthenticationError("invalid, revoked or expired API key")
        if owner.tenant_status != TenantStatus.ACTIVE:
            raise ForbiddenError(f"tenant {owner.tenant_id} is {owner.tenant_status.value}: access is suspended")
        return principal_for(owner)

    async def _owner(self, token: str, max_age: float) -> KeyOwner | None:
        """The key's owner, read at most `max_age` seconds ago. Callers that ask at once share
        one lookup (200 subscriptions of one key rechecking together cost one statement); a
        caller that is cancelled never cancels it for the others."""
        now, cache_key = time.monotonic(), hash_key(token)
        cached = self._cache.get(cache_key)
        if cached is not None and now - cached[0] < max_age:
            return cached[1]
        running = self._running.get(cache_key)
        if running is None or now - running[0] >= max_age:
            task = asyncio.ensure_future(self._look_up(token, cache_key, now, self._forgotten))
            task.add_done_callback(lambda done: self._finished(cache_key, done))
            running = self._running[cache_key] = (now, task)
        return await asyncio.shield(running[1])

    async def _look_up(self, token: str, cache_key: bytes, started: float, forgotten: int) -> KeyOwner | None:
        async with UnitOfWork(self._session_factory, Scope.authentication(), read_only=True) as uow:
            owner = await uow.api_keys.find_owner(token)
        if self._cache_seconds > 0 and forgotten == self._forgotten:  # nothing was revoked meanwhile
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = (started, owner)
        return owner

    def _finished(self, cache_key: bytes, done: asyncio.Future[KeyOwner | None]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved here: every caller may have gone
        if (running := self._running.get(cache_key)) is not None and running[1] is done:
            del self._running[cache_key]

    def forget(self) -> None:
        """Drop cached lookups (after a key is revoked or a tenant's status changes here), ; a
        caller from now on never joins a lookup that started before."""
        self._cache.clear()
        self._running.clear()
        self._forgotten += 1
