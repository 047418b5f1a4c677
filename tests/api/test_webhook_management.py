"""Deleting a webhook endpoint: ADMIN only, idempotent, audited once, freeing its place in the
quota and stopping its deliveries."""

from __future__ import annotations

import pytest

from sentinai.services.webhooks import MAX_ENDPOINTS_PER_TENANT
from tests.api.helpers import ingest
from tests.api.webhooks import CREATE, ENDPOINTS, dispatching, receiving, register

pytestmark = pytest.mark.asyncio

DELETE = """
mutation($i: DeleteWebhookEndpointInput!) {
  deleteWebhookEndpoint(input: $i) {
    __typename
    ... on DeleteWebhookEndpointSuccess { endpointId deletedAt }
    ... on MutationError { code }
  }
}"""

AUDIT = '{ auditLog(filter: {component: "webhooks"}) { nodes { event details } } }'

URL = "http://127.0.0.1:9/services/T000/B000/s3cr3t-t0ken"
"""On the discard port of this machine: nothing listens, so a round of another test sends nothing out."""


async def delete(gql, key: str, endpoint_id: int) -> dict:
    return (await gql.data(DELETE, {"i": {"endpointId": endpoint_id}}, key=key))["deleteWebhookEndpoint"]


async def test_deleting_an_endpoint_twice_answers_the_same_and_is_audited_once(gql, api_a):
    made = await register(gql, api_a.admin, URL)
    endpoint_id = made["endpoint"]["endpointId"]

    first = await delete(gql, api_a.admin, endpoint_id)
    again = await delete(gql, api_a.admin, endpoint_id)

    assert first["__typename"] == "DeleteWebhookEndpointSuccess" and first == again
    assert (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"] == []
    events = [entry["event"] for entry in (await gql.data(AUDIT, key=api_a.admin))["auditLog"]["nodes"]]
    assert events.count("webhook.deleted") == 1 and {"webhook.created", "webhook.deleted"} == set(events)


async def test_only_admins_delete_and_another_tenants_endpoint_is_not_found(gql, api_a, api_b):
    endpoint_id = (await register(gql, api_a.admin, URL))["endpoint"]["endpointId"]

    for key in (api_a.viewer, api_a.operator, api_a.agent):
        assert (await delete(gql, key, endpoint_id))["__typename"] == "Forbidden"
    assert (await delete(gql, api_b.admin, endpoint_id)) == {"__typename": "NotFound", "code": "NOT_FOUND"}
    assert len((await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]) == 1


async def test_deleting_an_endpoint_frees_its_place_in_the_quota(gql, api_a):
    made = [await register(gql, api_a.admin, f"{URL}/{n}") for n in range(MAX_ENDPOINTS_PER_TENANT)]
    refused = (await gql.data(CREATE, {"input": {"url": URL}}, key=api_a.admin))["createWebhookEndpoint"]

    await delete(gql, api_a.admin, made[0]["endpoint"]["endpointId"])

    assert refused["__typename"] == "ValidationFailed"
    await register(gql, api_a.admin, URL)


async def test_a_deleted_endpoint_gets_nothing_more(gql, api_a, session_factory):
    async with receiving() as receiver, dispatching(session_factory) as dispatcher:
        endpoint_id = (await register(gql, api_a.admin, receiver.url))["endpoint"]["endpointId"]
        await ingest(gql, api_a.operator, "EXC-D1")
        await delete(gql, api_a.admin, endpoint_id)

        await dispatcher.deliver(api_a.tenant_id, endpoint_id)

    assert receiver.received == []
