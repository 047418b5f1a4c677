"""Webhook test kit: a local receiver (127.0.0.1 only), a dispatcher with a test policy, registering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sentinai.domain.webhooks import IPAddress, WebhookPolicy
from sentinai.services import webhook_targets
from sentinai.services.webhook_delivery import WebhookDispatcher
from tests.servers import serving

CREATE = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on CreateWebhookEndpointSuccess { secret endpoint { endpointId position enabled url } }
    ... on MutationError { code message }
    ... on ValidationFailed { field }
  }
}"""

ENDPOINTS = "{ webhookEndpoints { endpointId url enabled disabledReason position failedAttempts } }"

DELIVERIES = "query($e: Int!) { webhookDeliveries(endpointId: $e) { succeeded statusCode position error } }"


@dataclass
class Receiver:
    """A webhook receiver: records what it is sent, answers after `delay` seconds, fails its first
    `failures` requests, and counts the most requests it had in hand at once."""

    url: str = ""
    failures: int = 0
    delay: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    in_hand: int = 0
    most_in_hand: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.in_hand += 1
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_hand -= 1
        if self.failures > 0:
            self.failures -= 1
            return Response("not now", status_code=503)
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
        return Response(status_code=204)

    def messages(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def positions(self) -> list[int]:
        return [message["data"]["position"] for message in self.messages()]


@asynccontextmanager
async def receiving(**options: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(**options)
    app = Starlette(routes=[Route("/hooks", receiver.handle, methods=["POST"])])
    async with serving(app) as url:
        receiver.url = f"{url}/hooks"
        yield receiver


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Connects to 127.0.0.1 and ::1 only: a pass over every due endpoint of the test database (other
    tests', a fuzzer's) must not send anything off this machine."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "::1"):
            raise httpx.ConnectError("the tests connect to 127.0.0.1 only", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def no_names(host: str, port: int) -> list[IPAddress]:
    """The resolver while a test dispatcher runs, unless the test plays one: no query leaves."""
    raise OSError(f"the tests resolve no names ({host})")


@asynccontextmanager
async def dispatching(session_factory, **policy: Any) -> AsyncIterator[WebhookDispatcher]:
    """A dispatcher allowed to reach 127.0.0.1 over http, quick to retry; `policy` overrides. A test
    that plays a resolver installs it before this starts."""
    settings = {"allow_private_targets": True, "require_https": False, "retry_base_seconds": 0.05} | policy
    client = httpx.AsyncClient(transport=LoopbackOnly(), follow_redirects=False)
    dispatcher = WebhookDispatcher(session_factory, WebhookPolicy(**{"timeout_seconds": 2, **settings}), client)
    played, real = webhook_targets.resolve is not REAL_RESOLVER, webhook_targets.resolve
    webhook_targets.resolve = real if played else no_names
    try:
        yield dispatcher
    finally:
        webhook_targets.resolve = real
        await dispatcher.stop()
        await client.aclose()


REAL_RESOLVER = webhook_targets.resolve


async def register(gql, key: str, url: str, **extra: Any) -> dict:
    result = (await gql.data(CREATE, {"input": {"url": url, **extra}}, key=key))["createWebhookEndpoint"]
    assert result["__typename"] == "CreateWebhookEndpointSuccess", result
    return result
