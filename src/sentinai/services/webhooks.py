"""Outbound webhooks: endpoints managed by tenant admins, and the dispatcher that delivers the
change log to them, at least once, in order, signed (Standard Webhooks).

Delivery is by position, like every other reader of the change log: an endpoint's `position` is
the last change a receiver acknowledged with a 2xx, so a crash between a delivery and its record
re-sends that change (with the same `webhook-id`, for the receiver to drop) and never skips one.
The dispatcher leases an endpoint before delivering, so several processes share the work without
sending one endpoint's changes twice at once or out of order.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sentinai.catalog import KINDS
from sentinai.db import models
from sentinai.db.session import Scope
from sentinai.domain import validation
from sentinai.domain import webhooks as rules
from sentinai.domain.actors import Actor
from sentinai.errors import NotFoundError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_ENDPOINTS_PER_TENANT = 20
BATCH = 50
"""Changes one endpoint gets per round (in order, stopping at the first failure)."""


@dataclass(frozen=True)
class WebhookPolicy:
    """The operator's settings for webhooks (`config.Settings`)."""

    allow_private_targets: bool = False
    require_https: bool = True
    timeout_seconds: float = 10.0
    retry_base_seconds: float = 5.0
    retry_ceiling_seconds: float = 10 * 3600.0
    disable_after_seconds: float = 3 * 24 * 3600.0
    poll_seconds: float = 1.0


# -- management (tenant admins)


async def create_endpoint(
    uow: UnitOfWork, actor: Actor, policy: WebhookPolicy, url: str, description: str | None, from_start: bool
) -> tuple[models.WebhookEndpoint, str]:
    """Register a receiver; the secret is returned here once and never again."""
    url = rules.checked_url(url, allow_private=policy.allow_private_targets, require_https=policy.require_https)
    if len(await uow.webhooks.endpoints()) >= MAX_ENDPOINTS_PER_TENANT:
        raise ValidationError("url", f"a tenant may register at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints")
    await uow.audit.record("webhooks", "webhook.created", actor.id, {"url": url})
    start = 0 if from_start else await uow.changes.head()  # after its own audit entry
    secret = rules.new_secret()
    row = await uow.webhooks.create(
        url, validation.text("description", description, max_length=500, required=False), secret, start, actor.id
    )
    return row, secret


async def set_enabled(uow: UnitOfWork, actor: Actor, endpoint_id: int, enabled: bool) -> models.WebhookEndpoint:
    """Disable an endpoint, or enable it again: deliveries resume from its position, now."""
    values: dict[str, Any] = {"enabled": enabled}
    if enabled:
        values |= {"disabled_reason": None, "failing_since": None, "failed_attempts": 0, "next_attempt_at": _now()}
    else:
        values |= {"disabled_reason": f"disabled by {actor.id}"}
    row = await uow.webhooks.change(endpoint_id, **values)
    if row is None:
        raise NotFoundError("WebhookEndpoint", str(endpoint_id))
    await uow.audit.record(
        "webhooks", "webhook.enabled" if enabled else "webhook.disabled", actor.id, {"endpointId": endpoint_id}
    )
    return row


async def replay(uow: UnitOfWork, actor: Actor, endpoint_id: int, after: int) -> models.WebhookEndpoint:
    """Deliver again every change after position `after` (at most the head)."""
    head = await uow.changes.head()
    if after > head:
        raise ValidationError("after", f"must be at most the change log's head, {head}")
    row = await uow.webhooks.change(endpoint_id, position=after, next_attempt_at=_now())
    if row is None:
        raise NotFoundError("WebhookEndpoint", str(endpoint_id))
    await uow.audit.record("webhooks", "webhook.replayed", actor.id, {"endpointId": endpoint_id, "after": after})
    return row


# -- delivery


def message_of(tenant_id: str, change: models.ChangeLog, row: Any) -> dict[str, Any]:
    """The JSON body of one change: its kind's catalogue values, in the API's field names."""
    kind = "event" if change.source == "exception_event" else "audit"
    values = {_camel(name): _plain(value) for name, value in KINDS[kind].values(row).items()}
    values["id"] = values.pop("key")
    data: dict[str, Any] = {"tenantId": tenant_id, "position": change.position, "exceptionId": change.exception_id}
    data["event" if kind == "event" else "auditEntry"] = values
    message_type = "exception.event.recorded" if kind == "event" else "audit.entry.recorded"
    return {"type": message_type, "timestamp": change.recorded_at.isoformat(), "data": data}


class WebhookDispatcher:
    """Delivers every tenant's due endpoints, round after round (one per process is enough;
    more share the work through leases)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        policy: WebhookPolicy,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.policy = policy
        self.client = client or httpx.AsyncClient(timeout=policy.timeout_seconds, follow_redirects=False)

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook round failed; trying again")
            await asyncio.sleep(self.policy.poll_seconds)

    async def deliver_due(self) -> int:
        """One round over every due endpoint; how many endpoints it delivered to."""
        async with UnitOfWork(self.session_factory, Scope.platform(), read_only=True) as uow:
            due = await uow.webhooks.due(100)
        for tenant_id, endpoint_id in due:
            await self.deliver(tenant_id, endpoint_id)
        return len(due)

    async def deliver(self, tenant_id: str, endpoint_id: int) -> None:
        scope = Scope.tenant(tenant_id)
        async with UnitOfWork(self.session_factory, scope) as uow:
            endpoint = await uow.webhooks.lease(endpoint_id)
            await uow.commit()
        if endpoint is None:
            return  # not due, or another process holds it
        async with UnitOfWork(self.session_factory, scope, read_only=True) as uow:
            changes = (await uow.changes.after(endpoint.position, BATCH)).items
            events = await uow.events.get_many([uuid.UUID(c.row_key) for c in changes if c.source == "exception_event"])
            audits = await uow.audit.get_many([int(c.row_key) for c in changes if c.source == "audit_log"])
        attempts: list[tuple[int, int | None, str | None, int, bool]] = []
        delivered, failure = endpoint.position, None
        if changes and not self.policy.allow_private_targets:
            try:  # once per round: the name's addresses, not the URL given at registration
                await _refuse_private(endpoint.url)
            except Exception as refused:
                failure = f"{type(refused).__name__}: {refused}"[:500]
                attempts.append((changes[0].position, None, failure, 0, False))
                changes = []
        for change in changes:
            row = (
                events.get(uuid.UUID(change.row_key))
                if change.source == "exception_event"
                else audits.get(int(change.row_key))
            )
            status, error, ms = await self._post(endpoint, tenant_id, change, row)
            ok = status is not None and 200 <= status < 300
            attempts.append((change.position, status, error, ms, ok))
            if not ok:
                failure = error or f"HTTP {status}"
                break
            delivered = change.position
        async with UnitOfWork(self.session_factory, scope) as uow:
            for position, status, error, ms, ok in attempts:
                await uow.webhooks.record_attempt(endpoint_id, position, status, error, ms, ok)
            await uow.webhooks.end_round(endpoint, delivered, **self._outcome(endpoint, failure))
            await uow.commit()

    def _outcome(self, endpoint: models.WebhookEndpoint, failure: str | None) -> dict[str, Any]:
        """The endpoint's health after a round: reset by a success; after a failure, the backoff, and
        past the policy's patience, disabled with its reason."""
        now = _now()
        if failure is None:
            return {"failed_attempts": 0, "failing_since": None, "next_attempt_at": now}
        failing_since = endpoint.failing_since or now
        failed = endpoint.failed_attempts + 1
        delay = rules.retry_delay(failed, self.policy.retry_base_seconds, self.policy.retry_ceiling_seconds)
        values: dict[str, Any] = {
            "failed_attempts": failed,
            "failing_since": failing_since,
            "next_attempt_at": now + delay,
        }
        if (now - failing_since).total_seconds() >= self.policy.disable_after_seconds:
            since = failing_since.isoformat(timespec="seconds")
            values |= {
                "enabled": False,
                "disabled_reason": f"failing since {since} ({failed} attempts); last: {failure}"[:500],
            }
        return values

    async def _post(
        self, endpoint: models.WebhookEndpoint, tenant_id: str, change: models.ChangeLog, row: Any
    ) -> tuple[int | None, str | None, int]:
        started = time.perf_counter()
        try:
            if row is None:
                raise LookupError(f"change {change.position} names a row that is not readable")
            body = json.dumps(message_of(tenant_id, change, row), separators=(",", ":")).encode()
            message_id, timestamp = f"chg_{tenant_id}_{change.position}", int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": "SentinAI-Webhooks/1",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": rules.sign(endpoint.secret, message_id, timestamp, body),
            }
            response = await self.client.post(endpoint.url, content=body, headers=headers)
            return response.status_code, None, _ms(started)
        except Exception as error:  # the receiver's failure, never ours to raise
            return None, f"{type(error).__name__}: {error}"[:500], _ms(started)


async def _refuse_private(url: str) -> None:
    """A name that resolves to our own network is refused at delivery too (not only when registered)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_, address in await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if rules.is_private_host(str(address[0])):
            raise PermissionError(f"{host} resolves to a private address")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
