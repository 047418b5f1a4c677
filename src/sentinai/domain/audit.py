"""The audit port: what the domain needs from an audit trail, whatever stores it."""

from __future__ import annotations

from typing import Any, Protocol


class AuditTrail(Protocol):
    async def record(
        self, component: str, event: str, actor: str, details: dict[str, Any], *, tenant_id: str | None = None
    ) -> object:
        """Record one configuration change inside the caller's transaction."""
