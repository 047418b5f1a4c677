"""Webhook endpoints, managed by tenant admins."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.repositories.changes import position_of
from sentinai.repositories.pagination import page_size
from sentinai.resolvers.mutations import Input, run_mutation
from sentinai.resolvers.permissions import CanAdminister, answered
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.webhooks import (
    CreateWebhookEndpointInput,
    CreateWebhookEndpointSuccess,
    DeleteWebhookEndpointInput,
    DeleteWebhookEndpointSuccess,
    ReplayWebhookEndpointInput,
    SetWebhookEndpointEnabledInput,
    WebhookDeliveryType,
    WebhookEndpointSuccess,
    WebhookEndpointType,
)
from sentinai.services import webhooks as service

CreateWebhookEndpointResult: TypeAlias = Annotated[
    CreateWebhookEndpointSuccess | MutationErrors, result_union("CreateWebhookEndpointResult")
]
SetWebhookEndpointEnabledResult: TypeAlias = Annotated[
    WebhookEndpointSuccess | MutationErrors, result_union("SetWebhookEndpointEnabledResult")
]
ReplayWebhookEndpointResult: TypeAlias = Annotated[
    WebhookEndpointSuccess | MutationErrors, result_union("ReplayWebhookEndpointResult")
]
DeleteWebhookEndpointResult: TypeAlias = Annotated[
    DeleteWebhookEndpointSuccess | MutationErrors, result_union("DeleteWebhookEndpointResult")
]


@strawberry.type
class WebhookQueries:
    @strawberry.field(permission_classes=[CanAdminister], description="Your tenant's webhook endpoints.")
    async def webhook_endpoints(self, info: Info[Context, None]) -> list[WebhookEndpointType] | None:
        rows = await (await info.context.reader()).webhooks.endpoints()
        return [WebhookEndpointType.from_row(row) for row in rows]

    @strawberry.field(
        permission_classes=[CanAdminister], description="An endpoint's latest delivery attempts, newest first."
    )
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: Annotated[int, strawberry.argument(description="The endpoint.")],
        first: Annotated[int | None, strawberry.argument(description="How many, at most 100 (default 20).")] = 20,
    ) -> list[WebhookDeliveryType] | None:
        rows = await (await info.context.reader()).webhooks.deliveries(endpoint_id, page_size(first))
        return [WebhookDeliveryType.from_row(row) for row in rows]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)],
        description="Register a receiver of your change log; its signing secret is returned this once.",
    )
    async def create_webhook_endpoint(
        self, info: Info[Context, None], input: Input[CreateWebhookEndpointInput]
    ) -> CreateWebhookEndpointResult:
        actor, policy = info.context.principal.actor, info.context.runtime.settings.webhook_policy
        return await run_mutation(
            info,
            lambda uow: service.create_endpoint(
                uow, actor, policy, input.url, input.description, input.from_start is True
            ),
            lambda made: CreateWebhookEndpointSuccess(endpoint=WebhookEndpointType.from_row(made[0]), secret=made[1]),
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)],
        description="Turn an endpoint off, or on again (clearing its failures; deliveries resume from its position).",
    )
    async def set_webhook_endpoint_enabled(
        self, info: Info[Context, None], input: Input[SetWebhookEndpointEnabledInput]
    ) -> SetWebhookEndpointEnabledResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: service.set_enabled(uow, actor, input.endpoint_id, input.enabled),
            lambda row: WebhookEndpointSuccess(endpoint=WebhookEndpointType.from_row(row)),
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)],
        description="Deliver every change after a position again (a receiver that lost data, a new consumer).",
    )
    async def replay_webhook_endpoint(
        self, info: Info[Context, None], input: Input[ReplayWebhookEndpointInput]
    ) -> ReplayWebhookEndpointResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: service.replay(uow, actor, input.endpoint_id, position_of("after", input.after)),
            lambda row: WebhookEndpointSuccess(endpoint=WebhookEndpointType.from_row(row)),
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(CanAdminister)],
        description=(
            "Delete an endpoint: nothing more is delivered to it and it no longer counts against your "
            "tenant's endpoints. Deleting it again answers the same."
        ),
    )
    async def delete_webhook_endpoint(
        self, info: Info[Context, None], input: Input[DeleteWebhookEndpointInput]
    ) -> DeleteWebhookEndpointResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: service.delete_endpoint(uow, actor, input.endpoint_id),
            lambda row: DeleteWebhookEndpointSuccess(endpoint_id=row.endpoint_id, deleted_at=row.deleted_at),
            idempotent=True,
            keyed_by=input,
        )
