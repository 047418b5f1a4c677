"""Where a webhook may go: URLs are refused at registration when malformed (control characters) or
when any spelling of their host, or any address their name resolves to, is on our own network;
at delivery the checked address is the one connected to, and a refusal tells the tenant nothing
about what our resolver answered. Names are answered by a stand-in resolver: no query leaves."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from sentinai.domain import webhooks as rules
from sentinai.services import webhook_targets
from tests.api.helpers import api_app, ingest
from tests.api.webhooks import CREATE, DELIVERIES, dispatching, receiving, register
from tests.conftest import ADMIN_TOKEN
from tests.graphql_client import GraphQLClient

pytestmark = pytest.mark.asyncio

DELETE = "mutation($i: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $i) { __typename } }"


def answering(*answers: list[str]):
    """A resolver giving each answer in turn (the last one again after that); counts its calls."""
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[rules.IPAddress]:
        calls.append(host)
        answer = answers[min(len(calls), len(answers)) - 1]
        if answer == ["NXDOMAIN"]:
            raise OSError(-2, "Name or service not known")
        return [ipaddress.ip_address(a) for a in answer]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest_asyncio.fixture
async def guarded(runtime) -> AsyncIterator[GraphQLClient]:
    """The API with private targets off, as in production."""
    transport = httpx.ASGITransport(app=api_app(runtime, webhook_private_targets=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://sentinai.test") as http:
        yield GraphQLClient(http, ADMIN_TOKEN)


async def create(gql, key: str, url: str) -> dict:
    return (await gql.data(CREATE, {"input": {"url": url}}, key=key))["createWebhookEndpoint"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.1/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://0177.0.0.1/x",
        "http://0/x",
        "http://１２７．０．０．１/x",
        "http://ｌｏｃａｌｈｏｓｔ/x",
        "http://localhost./x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[64:ff9b::a00:1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://1.2.3.4.5/x",
    ],
)
async def test_every_spelling_of_an_address_on_our_network_is_refused_at_registration(guarded, api_a, url):
    refused = await create(guarded, api_a.admin, url)

    assert refused == {
        "__typename": "ValidationFailed",
        "code": "VALIDATION_FAILED",
        "message": refused["message"],
        "field": "url",
    }


@pytest.mark.parametrize(
    "given, stored",
    [
        ("https://ＨＯＯＫＳ.example.com/in", "https://hooks.example.com/in"),
        ("https://bücher.example:8443/in?x=1#top", "https://xn--bcher-kva.example:8443/in?x=1"),
        ("https://93.184.216.34", "https://93.184.216.34/"),
    ],
)
async def test_a_host_is_stored_as_a_url_parser_reaches_it(given, stored):
    assert rules.checked_url(given, allow_private=False, require_https=True) == stored


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/a\r\nX-Injected: 1", "http://127.0.0.1:9/a\nb", "http://127.0.0.1:9/\x1b[2J"]
)
async def test_a_url_holding_control_characters_is_refused_and_not_stored(gql, api_a, url):
    refused = await create(gql, api_a.admin, url)

    assert refused["__typename"] == "ValidationFailed" and refused["field"] == "url"
    assert "control characters" in refused["message"]
    assert (await gql.data("{ webhookEndpoints { url } }", key=api_a.admin))["webhookEndpoints"] == []


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["93.184.216.34", "10.0.0.7"], ["NXDOMAIN"]])
async def test_a_name_resolving_to_our_network_or_not_at_all_is_refused_alike(guarded, api_a, monkeypatch, answer):
    monkeypatch.setattr(webhook_targets, "resolve", answering(answer))

    refused = await create(guarded, api_a.admin, "https://hooks.internal.test/in")

    assert refused["__typename"] == "ValidationFailed"
    assert refused["message"] == "url: must resolve to public addresses only"


async def test_a_name_resolving_to_public_addresses_is_accepted(guarded, api_a, monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", answering(["93.184.216.34"]))

    made = await create(guarded, api_a.admin, "https://hooks.public.test/in")

    assert made["__typename"] == "CreateWebhookEndpointSuccess"


async def test_a_refusal_at_delivery_reads_the_same_whatever_the_resolver_answered(
    gql, api_a, session_factory, monkeypatch
):
    made = await register(gql, api_a.admin, "http://hooks.rebound.test:9/in")
    endpoint_id = made["endpoint"]["endpointId"]
    await ingest(gql, api_a.operator, "EXC-T1")

    monkeypatch.setattr(webhook_targets, "resolve", answering(["127.0.0.1"], ["NXDOMAIN"]))
    async with dispatching(session_factory, allow_private_targets=False) as dispatcher:
        for _ in range(2):
            await asyncio.sleep(0.15)  # the backoff after the first failure
            await dispatcher.deliver(api_a.tenant_id, endpoint_id)
    await gql.data(DELETE, {"i": {"endpointId": endpoint_id}}, key=api_a.admin)

    attempts = (await gql.data(DELIVERIES, {"e": endpoint_id}, key=api_a.admin))["webhookDeliveries"]
    assert [a["error"] for a in attempts] == [webhook_targets.REFUSED] * 2


async def test_the_address_checked_is_the_address_connected_to(gql, api_a, session_factory, monkeypatch):
    resolver = answering(["127.0.0.1"], ["10.255.255.1"])  # rebinding: a second lookup would go elsewhere
    monkeypatch.setattr(webhook_targets, "resolve", resolver)
    async with receiving() as receiver, dispatching(session_factory) as dispatcher:
        port = httpx.URL(receiver.url).port
        made = await register(gql, api_a.admin, f"http://hooks.rebind.test:{port}/hooks")
        for n in range(3):
            await ingest(gql, api_a.operator, f"EXC-T2-{n}")

        await dispatcher.deliver(api_a.tenant_id, made["endpoint"]["endpointId"])

    assert len(receiver.received) == 3
    assert {headers["host"] for headers, _ in receiver.received} == {f"hooks.rebind.test:{port}"}
    assert resolver.calls == ["hooks.rebind.test"], "resolved once for the round"
