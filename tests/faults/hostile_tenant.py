"""A hostile tenant, run as its own process beside the server: issue 20's items 1–7 at once.

    python -m tests.faults.hostile_tenant URL KEYS_JSON SECONDS [ITEMS]   prints one JSON summary line

1. a key revoked while its subscription is busy (it must receive nothing a second after);
2. 40 tables whose filter matches nothing, from the start of a long log;
3. 200 timelines of one viewer key, woken by a write every 0.5 s;
4. distinct documents of about 1 MiB over HTTP (memo pinning);
5. a 15 MB subscription document, and subscribe/complete churn with 900 KiB documents;
6. five webhook endpoints whose receivers take 8 s to answer;
7. (with `serve --workers 2`) a counting endpoint that must get every change once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections import Counter
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from tests.faults.live_load import (
    CREATE_WEBHOOK,
    TABLE,
    TIMELINE,
    Receiver,
    Socket,
    comment,
    graphql,
)

CREATE_KEY = """mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { ... on ApiKeySuccess { secret apiKey { keyId } } }
}"""
REVOKE_KEY = """mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { __typename } }"""


class Hostile:
    def __init__(self, url: str, keys: dict[str, str], seconds: float) -> None:
        self.http_url, self.ws_url = url, url.replace("http://", "ws://") + "/graphql"
        self.keys, self.seconds = keys, seconds
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.until = time.monotonic() + seconds
        self.summary: dict[str, Any] = {}
        self.sockets: list[Socket] = []
        self.refused_writes = 0

    def going(self) -> bool:
        return time.monotonic() < self.until

    async def run(self, items: set[str]) -> dict[str, Any]:
        receivers = await self.webhooks() if "webhooks" in items else (Receiver(), Receiver())
        tasks = {
            "writes": self.writes,
            "revocation": self.revoked_while_busy,
            "tables": self.empty_tables,
            "timelines": self.many_timelines,
            "documents": self.big_documents,
            "socket-documents": self.big_socket_documents,
        }
        await asyncio.gather(*(task() for name, task in tasks.items() if name in items))
        await asyncio.sleep(2)
        slow, counting = receivers
        self.summary["webhooks"] = {
            "slow_posts": len(slow.arrivals),
            "slow_duplicates": slow.duplicates(),
            "counted_posts": len(counting.arrivals),
            "counted_duplicates": counting.duplicates(),
            "counted_in_order": _in_order(counting),
        }
        await self.close()
        return self.summary

    async def close(self) -> None:
        for socket in self.sockets:
            await socket.close()
        await self.http.aclose()

    async def writes(self) -> None:
        """A write every 0.5 s wakes the tenant's subscriptions (items 2, 3, 6, 7)."""
        n = 0
        while self.going():
            n += 1
            answer = await comment(self.http, self.keys["a_agent"], self.keys["a_exception"], {"text": f"hostile {n}"})
            self.refused_writes += answer != "ExceptionEventRecorded"
            await asyncio.sleep(0.5)
        self.summary["writes"] = {"sent": n, "refused": self.refused_writes}

    async def revoked_while_busy(self) -> None:
        made = await graphql(self.http, self.keys["a_admin"], CREATE_KEY, {"input": {"name": "x", "role": "VIEWER"}})
        created = made.json()["data"]["createApiKey"]
        socket = await Socket.open(self.ws_url, created["secret"])
        await socket.subscribe("1", TABLE, {"filter": None, "after": "0"})
        busy = asyncio.get_running_loop().create_task(self._fast_writes(6.0))
        await asyncio.sleep(3.0)
        await graphql(self.http, self.keys["a_admin"], REVOKE_KEY, {"input": {"keyId": created["apiKey"]["keyId"]}})
        revoked_at, late, code = time.monotonic(), [], None
        while time.monotonic() - revoked_at < 5:
            try:
                await socket.receive(timeout=5)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                break
            except TimeoutError:
                break
            if time.monotonic() - revoked_at > 1.0:
                late.append(round(time.monotonic() - revoked_at, 2))
        await busy
        self.summary["revocation"] = {"close_code": code, "messages_after_1s": late}

    async def _fast_writes(self, seconds: float) -> None:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            await comment(self.http, self.keys["a_agent"], self.keys["a_exception"], {"text": "fast"})
            await asyncio.sleep(0.05)

    async def empty_tables(self) -> None:
        for group in range(2):
            socket = await Socket.open(self.ws_url, self.keys["a_viewer"])
            self.sockets.append(socket)
            for n in range(20):
                await socket.subscribe(f"{group}-{n}", TABLE, {"filter": {"owner": "nobody"}, "after": "0"})

    async def many_timelines(self) -> None:
        opened = 0
        for group in range(10):
            socket = await Socket.open(self.ws_url, self.keys["a_viewer2"])
            self.sockets.append(socket)
            for n in range(20):
                await socket.subscribe(f"{group}-{n}", TIMELINE, {"e": self.keys["a_exception"]})
                opened += 1
        self.summary["timelines"] = opened

    async def big_documents(self) -> None:
        statuses: Counter[int] = Counter()

        async def one_client() -> None:
            while self.going():
                padding = "#" + secrets.token_hex(500_000)[:1_000_000] + "\n"
                response = await graphql(self.http, self.keys["a_viewer"], "{ viewer { role } }\n" + padding)
                statuses[response.status_code] += 1

        await asyncio.gather(one_client(), one_client())
        self.summary["big_documents"] = dict(statuses)

    async def big_socket_documents(self) -> None:
        outcomes: Counter[str] = Counter()
        try:
            socket = await Socket.open(self.ws_url, self.keys["a_viewer"])
            await socket.subscribe("huge", TIMELINE + "#" + "x" * 15_000_000, {"e": "none"})
            outcomes[str((await socket.receive(timeout=5)).get("type"))] += 1
        except ConnectionClosed as closed:
            outcomes[f"closed {closed.rcvd.code if closed.rcvd else None}"] += 1
        except TimeoutError:
            outcomes["no answer"] += 1
        churned = 0
        socket = await Socket.open(self.ws_url, self.keys["a_viewer"])
        self.sockets.append(socket)
        while self.going():
            padded = TIMELINE + "#" + secrets.token_hex(460_000) + "\n"
            await socket.subscribe(f"c{churned}", padded, {"e": self.keys["a_exception"]})
            await asyncio.sleep(0.2)
            await socket.complete(f"c{churned}")
            churned += 1
        self.summary["socket_documents"] = {"huge": dict(outcomes), "churned": churned}

    async def webhooks(self) -> tuple[Receiver, Receiver]:
        slow, counting = Receiver(delay=8.0), Receiver()
        slow_url, counting_url = await slow.start(), await counting.start()
        for n in range(5):
            await graphql(self.http, self.keys["a_admin"], CREATE_WEBHOOK, {"input": {"url": f"{slow_url}/slow{n}"}})
        await graphql(self.http, self.keys["a_admin"], CREATE_WEBHOOK, {"input": {"url": f"{counting_url}/count"}})
        return slow, counting


def _in_order(receiver: Receiver) -> bool:
    positions = [json.loads(body)["data"]["position"] for _, _, _, body in receiver.arrivals]
    return positions == sorted(positions)


ITEMS = "writes,revocation,tables,timelines,documents,socket-documents,webhooks"


async def main(url: str, keys: str, seconds: str, items: str = ITEMS) -> None:
    summary = await Hostile(url, json.loads(keys), float(seconds)).run(set(items.split(",")))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
