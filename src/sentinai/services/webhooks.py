"""Outbound webhooks, managed by tenant admins: register, disable or enable, replay, delete.

Delivery is `services.webhook_delivery`; where a receiver may be and how it is reached is
`services.webhook_targets`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sentinai.db import models
from sentinai.domain import validation
from sentinai.domain import webhooks as rules
from sentinai.domain.actors import Actor
from sentinai.domain.webhooks import WebhookPolicy
from sentinai.errors import NotFoundError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services import webhook_targets as targets

MAX_ENDPOINTS_PER_TENANT = 20
"""Endpoints a tenant may have at once; deleting one frees its place."""


async def create_endpoint(
    uow: UnitOfWork, actor: Actor, policy: WebhookPolicy, url: str, description: str | None, from_start: bool
) -> tuple[models.WebhookEndpoint, str]:
    """Register a receiver; the secret is returned here once and never again. Its host is
    normalised and, when private targets are off, refused if it is or resolves to our network."""
    url = rules.checked_url(url, allow_private=policy.allow_private_targets, require_https=policy.require_https)
    await targets.refuse_private_names(url, allow_private=policy.allow_private_targets)
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


async def delete_endpoint(uow: UnitOfWork, actor: Actor, endpoint_id: int) -> models.WebhookEndpoint:
    """Delete an endpoint: it frees its place in the quota and nothing more is delivered to it (a
    round under way stops before its next message). Deleting it again answers the same, and
    records nothing more; an endpoint that never was (or is another tenant's) is not found."""
    row = await uow.webhooks.delete(endpoint_id)
    if row is not None:
        await uow.audit.record("webhooks", "webhook.deleted", actor.id, {"endpointId": endpoint_id})
        return row
    row = await uow.webhooks.get(endpoint_id)
    if row is None:
        raise NotFoundError("WebhookEndpoint", str(endpoint_id))
    return row


def _now() -> datetime:
    return datetime.now(UTC)
