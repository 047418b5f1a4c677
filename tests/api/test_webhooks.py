"""Outbound webhooks: admins register receivers of their tenant's change log; the dispatcher
delivers every change at least once, in order, signed the Standard Webhooks way, backs off from
a failing receiver, disables one that keeps failing (saying why), and replays from a position."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentinai.domain import webhooks as rules
from sentinai.services.webhooks import WebhookDispatcher, WebhookPolicy
from tests.api.helpers import ingest, record
from tests.servers import serving

pytestmark = pytest.mark.asyncio

CREATE = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on CreateWebhookEndpointSuccess { secret endpoint { endpointId position enabled } }
    ... on MutationError { code message }
    ... on ValidationFailed { field }
  }
}"""

ENDPOINTS = "{ webhookEndpoints { endpointId url enabled disabledReason position failedAttempts } }"


@dataclass
class Receiver:
    """A webhook receiver: records what it is sent and fails its first `failures` requests."""

    url: str = ""
    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.failures > 0:
            self.failures -= 1
            return Response("not now", status_code=503)
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
        return Response(status_code=204)

    def messages(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiving = Receiver()
    app = Starlette(routes=[Route("/hooks", receiving.handle, methods=["POST"])])
    async with serving(app) as url:
        receiving.url = f"{url}/hooks"
        yield receiving


@pytest_asyncio.fixture
async def dispatcher(session_factory) -> AsyncIterator[WebhookDispatcher]:
    policy = WebhookPolicy(allow_private_targets=True, require_https=False, retry_base_seconds=0.05, timeout_seconds=2)
    made = WebhookDispatcher(session_factory, policy)
    yield made
    await made.client.aclose()


async def register(gql, key: str, url: str, **extra) -> dict:
    result = (await gql.data(CREATE, {"input": {"url": url, **extra}}, key=key))["createWebhookEndpoint"]
    assert result["__typename"] == "CreateWebhookEndpointSuccess", result
    return result


async def test_changes_arrive_in_order_signed_with_the_secret_shown_once(gql, api_a, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_a.operator, "EXC-W1")
    await record(gql, api_a.agent, "EXC-W1", "CommentAdded", {"text": "hooked"})

    await dispatcher.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])

    messages = receiver.messages()
    assert [m["data"]["event"]["eventType"] for m in messages] == ["ExceptionCreated", "CommentAdded"]
    assert messages[0]["type"] == "exception.event.recorded" and messages[0]["data"]["exceptionId"] == "EXC-W1"
    positions = [m["data"]["position"] for m in messages]
    assert positions == sorted(positions) and positions[0] > made["endpoint"]["position"]
    for headers, body in receiver.received:
        assert rules.verify(made["secret"], headers, body), "the documented verification accepts it"
        assert headers["webhook-id"] == f"chg_{api_a.tenant_id}_{json.loads(body)['data']['position']}"
    listed = await gql.data(ENDPOINTS, key=api_a.admin)
    assert made["secret"] not in json.dumps(listed)
    assert listed["webhookEndpoints"][0]["position"] == positions[-1]


async def test_a_tampered_body_or_another_secret_fails_verification(gql, api_a, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_a.operator, "EXC-W2")
    await dispatcher.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])
    headers, body = receiver.received[0]

    assert not rules.verify(made["secret"], headers, body.replace(b"EXC-W2", b"EXC-W3"))
    assert not rules.verify(rules.new_secret(), headers, body)
    assert not rules.verify(made["secret"], headers, body, now=int(headers["webhook-timestamp"]) + 3600)


async def test_a_receiver_that_fails_first_gets_everything_once_it_recovers(gql, api_a, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    endpoint_id = made["endpoint"]["endpointId"]
    await ingest(gql, api_a.operator, "EXC-W4")
    await record(gql, api_a.agent, "EXC-W4", "CommentAdded", {"text": "after"})
    receiver.failures = 3

    for _ in range(40):
        await dispatcher.deliver(api_a.tenant_id, endpoint_id)
        if len(receiver.received) == 2:
            break
        await asyncio.sleep(0.1)

    assert [m["data"]["event"]["eventType"] for m in receiver.messages()] == ["ExceptionCreated", "CommentAdded"]
    deliveries = await gql.data(
        "query($e: Int!) { webhookDeliveries(endpointId: $e) { succeeded statusCode position } }",
        {"e": endpoint_id},
        key=api_a.admin,
    )
    attempts = deliveries["webhookDeliveries"]
    assert [a["succeeded"] for a in reversed(attempts)] == [False, False, False, True, True]
    assert attempts[-1]["statusCode"] == 503
    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["failedAttempts"] == 0 and endpoint["enabled"]


async def test_an_endpoint_failing_too_long_is_disabled_with_its_reason(gql, api_a, receiver, session_factory):
    policy = WebhookPolicy(allow_private_targets=True, require_https=False, disable_after_seconds=0)
    impatient = WebhookDispatcher(session_factory, policy)
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_a.operator, "EXC-W5")
    receiver.failures = 1

    await impatient.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])
    await impatient.client.aclose()

    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["enabled"] is False
    assert "HTTP 503" in endpoint["disabledReason"] and "failing since" in endpoint["disabledReason"]


async def test_a_replay_delivers_again_from_the_position_given(gql, api_a, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    endpoint_id = made["endpoint"]["endpointId"]
    for n in range(3):
        await ingest(gql, api_a.operator, f"EXC-W6-{n}")
    await dispatcher.deliver(api_a.tenant_id, endpoint_id)
    first = [m["data"]["position"] for m in receiver.messages()]

    replayed = await gql.data(
        "mutation($i: ReplayWebhookEndpointInput!) { replayWebhookEndpoint(input: $i) { __typename } }",
        {"i": {"endpointId": endpoint_id, "after": str(first[0])}},
        key=api_a.admin,
    )
    receiver.received.clear()
    await dispatcher.deliver(api_a.tenant_id, endpoint_id)

    assert replayed["replayWebhookEndpoint"]["__typename"] == "WebhookEndpointSuccess"
    again = [m["data"]["position"] for m in receiver.messages()]
    assert again[: len(first) - 1] == first[1:], "everything after the position, in order"


async def test_another_tenants_changes_never_reach_an_endpoint(gql, api_a, api_b, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_b.operator, "EXC-W7")
    await ingest(gql, api_a.operator, "EXC-W7")

    await dispatcher.deliver_due()

    tenants = {m["data"]["tenantId"] for m in receiver.messages()}
    assert tenants == {api_a.tenant_id}
    assert made["endpoint"]["endpointId"]


async def test_only_admins_manage_endpoints(gql, api_a, receiver):
    refused = (await gql.data(CREATE, {"input": {"url": receiver.url}}, key=api_a.operator))["createWebhookEndpoint"]

    assert refused["__typename"] == "Forbidden"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "http://127.0.0.1:9/x",
        "http://[::1]/x",
        "http://10.0.0.7/x",
        "http://user:pw@example.com",
    ],
)
async def test_receivers_on_our_own_network_or_with_odd_urls_are_refused_when_private_targets_are_off(url):
    with pytest.raises(Exception) as refused:
        rules.checked_url(url, allow_private=False, require_https=False)
    assert getattr(refused.value, "field", None) == "url"


async def test_a_replay_from_something_that_is_not_a_position_is_a_typed_validation_failure(gql, api_a, receiver):
    made = await register(gql, api_a.admin, receiver.url)

    refused = await gql.data(
        """mutation($i: ReplayWebhookEndpointInput!) {
          replayWebhookEndpoint(input: $i) { __typename ... on ValidationFailed { field } } }""",
        {"i": {"endpointId": made["endpoint"]["endpointId"], "after": "yesterday"}},
        key=api_a.admin,
    )

    assert refused["replayWebhookEndpoint"] == {"__typename": "ValidationFailed", "field": "after"}


async def test_a_replay_asked_for_during_a_delivery_round_is_kept(gql, api_a, receiver, factory):
    made = await register(gql, api_a.admin, receiver.url)
    endpoint_id = made["endpoint"]["endpointId"]
    await ingest(gql, api_a.operator, "EXC-W8")
    async with factory.uow(api_a.tenant_id) as uow:
        leased = await uow.webhooks.lease(endpoint_id)
        await uow.commit()
    assert leased is not None

    await gql.data(
        "mutation($i: ReplayWebhookEndpointInput!) { replayWebhookEndpoint(input: $i) { __typename } }",
        {"i": {"endpointId": endpoint_id, "after": "0"}},
        key=api_a.admin,
    )
    async with factory.uow(api_a.tenant_id) as uow:  # the round ends, having delivered up to the head
        await uow.webhooks.end_round(leased, leased.position + 1)
        await uow.commit()

    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["position"] == 0, "the replay's position, not the round's"
