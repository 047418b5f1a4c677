"""Outbound webhooks: admins register receivers of their tenant's change log; the dispatcher
delivers every change at least once, in order, signed the Standard Webhooks way, backs off from
a failing receiver, disables one that keeps failing (saying why), and replays from a position."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sentinai.domain import webhooks as rules
from sentinai.services.webhook_delivery import WebhookDispatcher
from tests.api.helpers import ingest, record
from tests.api.webhooks import CREATE, DELIVERIES, ENDPOINTS, Receiver, dispatching, receiving, register

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as made:
        yield made


@pytest_asyncio.fixture
async def dispatcher(session_factory) -> AsyncIterator[WebhookDispatcher]:
    async with dispatching(session_factory) as made:
        yield made


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
    deliveries = await gql.data(DELIVERIES, {"e": endpoint_id}, key=api_a.admin)
    attempts = deliveries["webhookDeliveries"]
    assert [a["succeeded"] for a in reversed(attempts)] == [False, False, False, True, True]
    assert attempts[-1]["statusCode"] == 503
    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["failedAttempts"] == 0 and endpoint["enabled"]


async def test_an_endpoint_failing_too_long_is_disabled_with_its_reason(gql, api_a, receiver, session_factory):
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_a.operator, "EXC-W5")
    receiver.failures = 1

    async with dispatching(session_factory, disable_after_seconds=0) as impatient:
        await impatient.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])

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
        leased = await uow.webhooks.lease(endpoint_id, 30)
        await uow.commit()
    assert leased is not None

    await gql.data(
        "mutation($i: ReplayWebhookEndpointInput!) { replayWebhookEndpoint(input: $i) { __typename } }",
        {"i": {"endpointId": endpoint_id, "after": "0"}},
        key=api_a.admin,
    )
    async with factory.uow(api_a.tenant_id) as uow:  # the round's next acknowledgement, then its end
        moved = (leased.position, leased.position + 1)
        renewed = await uow.webhooks.advance(endpoint_id, leased.leased_until, moved, 30)
        await uow.webhooks.end_round(endpoint_id, leased.leased_until)
        await uow.commit()

    assert renewed is None, "the round stops"
    (endpoint,) = (await gql.data(ENDPOINTS, key=api_a.admin))["webhookEndpoints"]
    assert endpoint["position"] == 0, "the replay's position, not the round's"


async def test_an_event_with_a_decimal_confidence_is_delivered_with_its_exact_digits(gql, api_a, receiver, dispatcher):
    made = await register(gql, api_a.admin, receiver.url)
    await ingest(gql, api_a.operator, "EXC-W9")
    await record(gql, api_a.agent, "EXC-W9", "TriageCompleted", {"severity": "HIGH", "confidence": 0.875})

    await dispatcher.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])

    assert [m["data"]["event"]["eventType"] for m in receiver.messages()] == ["ExceptionCreated", "TriageCompleted"]
    assert b'"confidence":0.875' in receiver.received[1][1], "jsonb's digits, as a JSON number"
