"""Outbound webhooks: tenant-registered receivers of the change log, and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import strawberry

from sentinai.schema.idempotency import idempotency_key_field, replayed_field
from sentinai.schema.nodes import CatalogObject
from sentinai.schema.scalars import SafeInt


@strawberry.type(
    name="WebhookEndpoint", description="A receiver of your tenant's change log (its secret is never shown again)."
)
class WebhookEndpointType(CatalogObject):
    kind: ClassVar[str] = "webhook_endpoint"
    endpoint_id: int = strawberry.field(description="Numeric id.")
    url: str = strawberry.field(description="Where changes are POSTed.")
    description: str | None = strawberry.field(description="What it is for.")
    enabled: bool = strawberry.field(description="Whether deliveries are made.")
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled: by whom, or the failures that disabled it."
    )
    position: SafeInt = strawberry.field(description="The last change the receiver acknowledged (2xx).")
    failed_attempts: int = strawberry.field(description="Failed attempts in a row (0 when healthy).")
    failing_since: datetime | None = strawberry.field(description="When the current run of failures began.")
    next_attempt_at: datetime = strawberry.field(description="When the next delivery may be made (backoff).")
    created_by: str = strawberry.field(description="Who registered it.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    _row: strawberry.Private[Any]


@strawberry.type(name="WebhookDelivery", description="One attempt to deliver one change to an endpoint.")
class WebhookDeliveryType(CatalogObject):
    kind: ClassVar[str] = "webhook_delivery"
    attempt_id: SafeInt = strawberry.field(description="Numeric id; later attempts have larger ids.")
    position: SafeInt = strawberry.field(description="The change it carried.")
    attempted_at: datetime = strawberry.field(description="When it was made.")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status (null: no response).")
    error: str | None = strawberry.field(description="What went wrong, when the receiver did not answer 2xx.")
    duration_ms: int = strawberry.field(description="How long the receiver took.")
    succeeded: bool = strawberry.field(description="Whether it answered 2xx.")

    _row: strawberry.Private[Any]


@strawberry.input(name="CreateWebhookEndpointInput", description="A receiver for your tenant's change log.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="An https URL (http and private addresses only where the operator allows).")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    from_start: bool | None = strawberry.field(
        default=False, description="Deliver the whole change log from its first change (default: from now on)."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="SetWebhookEndpointEnabledInput", description="Turn deliveries to an endpoint off or on.")
class SetWebhookEndpointEnabledInput:
    endpoint_id: int = strawberry.field(description="The endpoint.")
    enabled: bool = strawberry.field(description="On (resumes from its position, now) or off.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="ReplayWebhookEndpointInput", description="Deliver again from a position.")
class ReplayWebhookEndpointInput:
    endpoint_id: int = strawberry.field(description="The endpoint.")
    after: str = strawberry.field(description="Deliver every change after this position (a change's cursor).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="DeleteWebhookEndpointInput", description="Delete an endpoint, freeing its place.")
class DeleteWebhookEndpointInput:
    endpoint_id: int = strawberry.field(description="The endpoint.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(name="CreateWebhookEndpointSuccess", description="The endpoint and its signing secret.")
class CreateWebhookEndpointSuccess:
    endpoint: WebhookEndpointType = strawberry.field(description="The stored endpoint.")
    secret: str = strawberry.field(
        description="The signing secret (`whsec_…`), shown this once: verify `webhook-signature` with it."
    )
    replayed: bool = replayed_field()


@strawberry.type(name="WebhookEndpointSuccess", description="The endpoint after the change.")
class WebhookEndpointSuccess:
    endpoint: WebhookEndpointType = strawberry.field(description="The stored endpoint.")
    replayed: bool = replayed_field()


@strawberry.type(
    name="DeleteWebhookEndpointSuccess",
    description="The endpoint is deleted (the same answer when it already was): nothing more is delivered to it.",
)
class DeleteWebhookEndpointSuccess:
    endpoint_id: int = strawberry.field(description="The deleted endpoint.")
    deleted_at: datetime = strawberry.field(description="When it was deleted (the first time).")
    replayed: bool = replayed_field()
