"""The WebSocket obeys the HTTP endpoint's limits and prices (a message is bounded like a body, its
JSON as deep, its document priced alike), and refuses what it does not serve cleanly: a close code
or an `error` message with a code, never a traceback in the log or a socket dropped unclosed."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from sentinai.api.app import Runtime, create_app
from sentinai.api.http import MAX_BODY_BYTES, MAX_DOCUMENT_CHARACTERS
from sentinai.cli import uvicorn_options
from sentinai.config import Settings
from sentinai.db.engine import create_engine
from tests.api.helpers import api_app, ingest
from tests.api.live import TIMELINE, WAIT, LiveClient
from tests.servers import serving

pytestmark = pytest.mark.asyncio


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/graphql"


@pytest_asyncio.fixture(scope="module")
async def live(runtime) -> AsyncIterator[str]:
    """The API served by uvicorn with what the app itself bounds (uvicorn's own frame limit is its default)."""
    async with serving(create_app(runtime=runtime), websockets=True) as url:
        yield ws_url(url)
    await runtime.notifier.stop()


@pytest.fixture
def errors_logged(caplog) -> list[logging.LogRecord]:
    caplog.set_level(logging.ERROR)
    return caplog.records


async def acknowledged(url: str, key: str) -> ClientConnection:
    return (await LiveClient.open(url, key)).socket


async def close_code(socket: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), WAIT)
    return closed.value.rcvd.code if closed.value.rcvd else None


def subscribe(query: str, variables: dict[str, Any] | None = None) -> str:
    return json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


def padded(document: str, characters: int) -> str:
    return document + "\n#" + "x" * max(0, characters - len(document) - 2)


async def test_a_message_larger_than_an_http_body_closes_the_socket_with_4413(live, api_a, errors_logged):
    socket = await acknowledged(live, api_a.viewer)

    await socket.send(subscribe(padded(TIMELINE, MAX_BODY_BYTES + 1), {"exceptionId": "EXC-ANY"}))

    assert await close_code(socket) == 4413
    assert errors_logged == []


async def test_a_frame_past_the_bound_is_refused_by_uvicorn_before_the_app_reads_it(runtime, api_a):
    serve = argparse.Namespace(host="127.0.0.1", port=0, log_level="warning", no_access_log=True)
    options = {name: value for name, value in uvicorn_options(serve).items() if name.startswith("ws_")}
    assert options["ws_max_size"] == MAX_BODY_BYTES, "`sentinai serve` bounds frames like bodies"
    assert options["ws_per_message_deflate"] is False, "small live messages are not compressed"

    async with serving(create_app(runtime=runtime), websockets=True, **options) as url:
        socket = await acknowledged(ws_url(url), api_a.viewer)
        await socket.send(subscribe(padded(TIMELINE, 2 * MAX_BODY_BYTES), {"exceptionId": "EXC-ANY"}))

        assert await close_code(socket) == 1009, "message too big"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"type": "subscribe", "id": "1", "payload": ' + "[" * 40 + "]" * 40 + "}", id="nested-40"),
        pytest.param("[" * 5_000 + "]" * 5_000, id="nested-5000"),
        pytest.param("[]", id="an-array"),
        pytest.param('"subscribe"', id="a-string"),
        pytest.param('{"id": "1", "type": "subscribe", "payload": "x"}', id="payload-not-an-object"),
        pytest.param('{"id": "1", "type": "subscribe", "payload": {"query": 5}}', id="query-not-a-string"),
        pytest.param('{"id": ["1"], "type": "complete"}', id="id-not-a-string"),
    ],
)
async def test_a_message_that_is_not_graphql_transport_ws_closes_with_4400_and_logs_no_error(
    live, api_a, frame, errors_logged
):
    socket = await acknowledged(live, api_a.viewer)

    await socket.send(frame)

    assert await close_code(socket) == 4400
    assert errors_logged == []


async def test_a_binary_frame_closes_with_4400(live, api_a):
    socket = await acknowledged(live, api_a.viewer)

    await socket.send(b'{"type": "ping"}')

    assert await close_code(socket) == 4400


@pytest.mark.parametrize(
    "document",
    ["{ viewer { role } }", 'mutation { deleteWebhook(input: {webhookId: "x"}) { __typename } }'],
    ids=["query", "mutation"],
)
async def test_a_query_or_mutation_on_the_websocket_is_refused_with_a_code_and_no_error_log(
    live, api_a, document, errors_logged
):
    client = LiveClient(await acknowledged(live, api_a.admin))

    await client.socket.send(subscribe(document))
    message = await client.receive()

    assert message["type"] == "error"
    assert [error["extensions"]["code"] for error in message["payload"]] == ["WEBSOCKET_SUBSCRIPTIONS_ONLY"]
    assert errors_logged == []


@pytest.mark.parametrize(
    "document",
    ["subscription { nope", "subscription { exceptionChanges { position } }" + "\n#" * 5_001],
    ids=["syntax", "tokens"],
)
async def test_a_document_that_does_not_parse_is_answered_an_error_not_a_traceback(
    live, api_a, document, errors_logged
):
    client = LiveClient(await acknowledged(live, api_a.viewer))

    await client.socket.send(subscribe(document))
    message = await client.receive()

    assert message["type"] == "error", message
    assert [error["extensions"]["code"] for error in message["payload"]] == ["GRAPHQL_PARSE_FAILED"]
    assert errors_logged == []


async def test_a_subscriptions_document_is_priced_by_its_size_as_over_http(runtime, gql, api_a):
    await ingest(gql, api_a.operator, "EXC-PRICED")
    app = api_app(runtime, max_query_cost=60)
    async with serving(app, websockets=True) as url:
        client = await LiveClient.open(ws_url(url), api_a.viewer)
        await client.subscribe(TIMELINE, {"exceptionId": "EXC-PRICED"})
        (delivered,) = await client.results(1)
        await client.subscribe(padded(TIMELINE, 90 * 1024), {"exceptionId": "EXC-PRICED"}, operation_id="2")
        refused = await client.receive()
        await client.close()
    await app.state.runtime.notifier.stop()

    assert delivered["event"]["eventType"] == "ExceptionCreated"
    assert (refused["id"], refused["type"]) == ("2", "error"), refused
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", refused


async def test_a_pool_timeout_inside_a_subscription_answers_service_unavailable(database, gql, api_a, errors_logged):
    await ingest(gql, api_a.operator, "EXC-POOL")
    overrides = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3, "auth_cache_seconds": 60.0}
    settings = Settings(**{**database.__dict__, **overrides})
    pooled = Runtime.build(settings, create_engine(settings))
    try:
        async with serving(create_app(runtime=pooled), websockets=True) as url:
            client = await LiveClient.open(ws_url(url), api_a.viewer)
            async with pooled.engine.connect():  # the only connection, held
                await client.subscribe(TIMELINE, {"exceptionId": "EXC-POOL"})
                message = await client.receive()
            await client.close()
    finally:
        await pooled.notifier.stop()
        await pooled.engine.dispose()

    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert [error["extensions"]["code"] for error in errors] == ["SERVICE_UNAVAILABLE"], message
    assert errors_logged == []


async def test_a_document_longer_than_the_api_parses_is_refused_before_parsing_on_both_surfaces(
    gql, api_a, live, errors_logged
):
    too_long = padded("{ viewer { role } }", MAX_DOCUMENT_CHARACTERS + 1)
    over_http = await gql.post(too_long, key=api_a.viewer, status=413)
    socket = await acknowledged(live, api_a.viewer)
    await socket.send(subscribe(padded(TIMELINE, MAX_DOCUMENT_CHARACTERS + 1), {"exceptionId": "EXC-ANY"}))
    over_websocket = json.loads(await asyncio.wait_for(socket.recv(), 5))
    await socket.close()

    assert over_http["errors"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert over_websocket["type"] == "error"
    assert over_websocket["payload"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert errors_logged == []
