"""Small clients for the hostile-tenant test: GraphQL over HTTP and graphql-transport-ws, and a
webhook receiver on loopback that records what it is sent and may answer slowly."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

TABLE = """subscription($filter: ExceptionFilter, $after: String) {
  exceptionChanges(filter: $filter, after: $after) { position kind exception { exceptionId } }
}"""
TIMELINE = """subscription($e: String!, $after: String) {
  exceptionEvents(exceptionId: $e, after: $after) { position event { payload } }
}"""
RECORD = """mutation($input: RecordExceptionEventInput!) { recordExceptionEvent(input: $input) { __typename } }"""
CREATE_WEBHOOK = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { __typename }
}"""


async def graphql(http: httpx.AsyncClient, key: str, query: str, variables: dict | None = None) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {key}"}
    )


async def comment(http: httpx.AsyncClient, key: str, exception_id: str, payload: dict[str, Any]) -> str:
    """Records a comment; answers the result's type name, or what went wrong."""
    item = {"eventId": str(uuid.uuid4()), "exceptionId": exception_id, "eventType": "CommentAdded", "payload": payload}
    response = await graphql(http, key, RECORD, {"input": item})
    body = response.json() if response.headers.get("content-type", "").startswith("application") else {}
    answer = (body.get("data") or {}).get("recordExceptionEvent") or {}
    return answer.get("__typename") or f"{response.status_code} {str(body.get('errors'))[:200]}"


class Socket:
    """One graphql-transport-ws connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str, key: str) -> Socket:
        connection = await connect(url, subprotocols=["graphql-transport-ws"], max_size=None)  # type: ignore[list-item]
        await connection.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
        assert json.loads(await connection.recv())["type"] == "connection_ack"
        return cls(connection)

    async def subscribe(self, operation_id: str, query: str, variables: dict[str, Any]) -> None:
        message = {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        await self.connection.send(json.dumps(message))

    async def complete(self, operation_id: str) -> None:
        await self.connection.send(json.dumps({"id": operation_id, "type": "complete"}))

    async def receive(self, timeout: float) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def close(self) -> None:
        await self.connection.close()


@dataclass
class Receiver:
    """An HTTP/1.1 webhook receiver on 127.0.0.1 that waits `delay` seconds before answering 204.

    It records each message's arrival, keyed by (path, webhook-id), so duplicates show."""

    delay: float = 0.0
    arrivals: list[tuple[str, str, float, bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def duplicates(self) -> int:
        seen = Counter((path, message_id) for path, message_id, _, _ in self.arrivals)
        return sum(count - 1 for count in seen.values())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path = lines[0].split(" ")[1]
                self.arrivals.append((path, headers.get("webhook-id", ""), time.time(), body))
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
