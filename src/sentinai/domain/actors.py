"""Who is acting: the identity every write records and every rule checks."""

from __future__ import annotations

from dataclasses import dataclass

from sentinai.domain.enums import ActorType, ApiKeyRole


@dataclass(frozen=True)
class Actor:
    """`id` is stable and unforgeable (derived from the credential, never from input)."""

    id: str
    role: ApiKeyRole | None  # None for the platform admin
    actor_type: ActorType

    @property
    def is_agent(self) -> bool:
        return self.role == ApiKeyRole.AGENT


PLATFORM_ADMIN = Actor("platform-admin", None, ActorType.SYSTEM)
