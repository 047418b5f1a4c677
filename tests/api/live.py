"""A graphql-transport-ws client and a live server for subscription tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import serving

TIMELINE = """
subscription Timeline($exceptionId: String!, $after: String) {
  exceptionEvents(exceptionId: $exceptionId, after: $after) { position source event { eventType payload } }
}"""

TABLE = """
subscription Table($filter: ExceptionFilter, $after: String) {
  exceptionChanges(filter: $filter, after: $after) {
    position kind matchesFilter exception { exceptionId severity status } event { eventType }
  }
}"""

WAIT = 5.0


@pytest_asyncio.fixture(scope="session")
async def live_url(runtime) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port, in the tests' event loop."""
    from sentinai.api.app import create_app

    async with serving(create_app(runtime=runtime), websockets=True) as url:
        yield url.replace("http://", "ws://") + "/graphql"
    await runtime.notifier.stop()


class LiveClient:
    """A graphql-transport-ws client: the protocol as the `graphql-ws` library speaks it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(cls, url: str, key: str) -> LiveClient:
        client = cls(await connect(url, subprotocols=["graphql-transport-ws"]))  # type: ignore[list-item]
        await client.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        assert (await client.receive())["type"] == "connection_ack"
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.socket.recv(), timeout)
        assert isinstance(frame, str), "graphql-transport-ws messages are text frames"
        return json.loads(frame)

    async def subscribe(self, query: str, variables: dict[str, Any], operation_id: str = "1") -> None:
        await self.send({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    async def results(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        """The data of the next `count` `next` messages (any error fails the test)."""
        found = []
        while len(found) < count:
            message = await self.receive(timeout)
            assert message["type"] == "next" and "errors" not in message["payload"], message
            found.append(next(iter(message["payload"]["data"].values())))
        return found

    async def silent(self, seconds: float = 0.5) -> bool:
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected nothing, got {message}")

    async def close(self) -> None:
        await self.socket.close()


@pytest_asyncio.fixture
async def clients(live_url) -> AsyncIterator[Any]:
    opened: list[LiveClient] = []

    async def open_client(key: str) -> LiveClient:
        opened.append(await LiveClient.open(live_url, key))
        return opened[-1]

    yield open_client
    for client in opened:
        await client.close()


@asynccontextmanager
async def served_with(runtime: Any, **settings: Any) -> AsyncIterator[str]:
    """The WebSocket URL of a server sharing the tests' database, with `settings` changed."""
    from sentinai.api.app import Runtime, create_app

    changed = replace(runtime.settings, **settings)
    built = Runtime(changed, runtime.engine, runtime.session_factory, runtime.authenticator, runtime.clock)
    async with serving(create_app(runtime=built), websockets=True) as url:
        yield url.replace("http://", "ws://") + "/graphql"
    await built.notifier.stop()
