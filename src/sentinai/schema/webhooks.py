"""Outbound webhooks: tenant-registered receivers of the change log, and their delivery attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from sentinai.schema.scalars import SafeInt


@strawberry.type(
    name="WebhookEndpoint", description="A receiver of your tenant's change log (its secret is never shown again)."
)
class WebhookEndpointType:
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

    @classmethod
    def from_row(cls, row: Any) -> WebhookEndpointType:
        return cls(
            endpoint_id=row.endpoint_id,
            url=row.url,
            description=row.description,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            position=SafeInt(row.position),
            failed_attempts=row.failed_attempts,
            failing_since=row.failing_since,
            next_attempt_at=row.next_attempt_at,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(name="WebhookDelivery", description="One attempt to deliver one change to an endpoint.")
class WebhookDeliveryType:
    attempt_id: SafeInt = strawberry.field(description="Numeric id; later attempts have larger ids.")
    position: SafeInt = strawberry.field(description="The change it carried.")
    attempted_at: datetime = strawberry.field(description="When it was made.")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status (null: no response).")
    error: str | None = strawberry.field(description="What went wrong, when the receiver did not answer 2xx.")
    duration_ms: int = strawberry.field(description="How long the receiver took.")
    succeeded: bool = strawberry.field(description="Whether it answered 2xx.")

    @classmethod
    def from_row(cls, row: Any) -> WebhookDeliveryType:
        return cls(
            attempt_id=SafeInt(row.attempt_id),
            position=SafeInt(row.position),
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            succeeded=row.succeeded,
        )


@strawberry.input(name="CreateWebhookEndpointInput", description="A receiver for your tenant's change log.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="An https URL (http and private addresses only where the operator allows).")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    from_start: bool | None = strawberry.field(
        default=False, description="Deliver the whole change log from its first change (default: from now on)."
    )


@strawberry.input(name="SetWebhookEndpointEnabledInput", description="Turn deliveries to an endpoint off or on.")
class SetWebhookEndpointEnabledInput:
    endpoint_id: int = strawberry.field(description="The endpoint.")
    enabled: bool = strawberry.field(description="On (resumes from its position, now) or off.")


@strawberry.input(name="ReplayWebhookEndpointInput", description="Deliver again from a position.")
class ReplayWebhookEndpointInput:
    endpoint_id: int = strawberry.field(description="The endpoint.")
    after: str = strawberry.field(description="Deliver every change after this position (a change's cursor).")


@strawberry.type(name="CreateWebhookEndpointSuccess", description="The endpoint and its signing secret.")
class CreateWebhookEndpointSuccess:
    endpoint: WebhookEndpointType = strawberry.field(description="The stored endpoint.")
    secret: str = strawberry.field(
        description="The signing secret (`whsec_…`), shown this once: verify `webhook-signature` with it."
    )


@strawberry.type(name="WebhookEndpointSuccess", description="The endpoint after the change.")
class WebhookEndpointSuccess:
    endpoint: WebhookEndpointType = strawberry.field(description="The stored endpoint.")
