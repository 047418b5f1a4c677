"""The audit port: what the domain needs from an audit trail, whatever stores it."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

REDACTED_URLS = {"webhook.created": "url"}
"""Audit events whose details hold a receiver's URL, and under which key."""


class AuditTrail(Protocol):
    async def record(
        self, component: str, event: str, actor: str, details: dict[str, Any], *, tenant_id: str | None = None
    ) -> object:
        """Record one configuration change inside the caller's transaction."""


def shown_details(event: str, details: dict[str, Any], sees_targets: bool) -> dict[str, Any]:
    """An audit entry's details as a caller may read them. Only those who may manage webhooks (ADMIN)
    see a receiver's whole URL; anyone else sees its origin (`https://hooks.example.com`). The
    path and query of a receiver URL often are its credential (Slack's and Zapier's hooks carry
    a token there), while the origin still tells an auditor which service was wired up."""
    key = REDACTED_URLS.get(event)
    if sees_targets or key is None or not isinstance(details.get(key), str):
        return details
    return {**details, key: origin_of(details[key])}


def origin_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(redacted)"
    if not parts.hostname:
        return "(redacted)"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{port}"
