"""Strawberry's HTTP view, fitted to the GraphQL-over-HTTP specification and to our encoding.

- Strawberry's own refusals (bad JSON, no query, a batch, an unknown operation, a mutation over
  GET, an unsupported content type) become JSON errors with the status the specification gives
  (405 with `Allow: POST` for a mutation over GET, 415 for a content type we do not read).
- A request error (nothing executed: parse, validation, variable or operation-selection
  failures) carries no `data`, and is a 400 under `application/graphql-response+json`.
- Responses are written with the one wire encoder (`wire`); JSON that PostgreSQL rendered is spliced in as it is.
- Subscriptions run over WebSocket (`graphql-transport-ws` only). The API key comes in the
  `connection_init` payload, as `{"Authorization": "Bearer <key>"}`; each subscription gets a
  context of its own (its reads never share a snapshot with another's); queries and mutations
  stay on HTTP, behind admission control and deadlines (`WEBSOCKET_SUBSCRIPTIONS_ONLY`). A
  message obeys an HTTP body's limits (`TextFrames`), and one not of the protocol's shape closes
  the socket with 4400 (`LiveSocketHandler.handle_message`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Mapping
from contextlib import suppress
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler as GraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation, _OperationStreamClosed
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType
from strawberry.utils.aio import aclosing

from sentinai import telemetry, wire
from sentinai.api.errors import with_code
from sentinai.api.http import (
    DOCUMENT_TOO_LARGE,
    GRAPHQL_RESPONSE,
    MAX_BODY_BYTES,
    MAX_DOCUMENT_CHARACTERS,
    TRANSPORT_CODES,
    document_too_large,
    error_response,
    media_type_of,
)
from sentinai.api.query_cost import charge_refused_text
from sentinai.auth import Principal
from sentinai.context import Context
from sentinai.errors import AuthenticationError, ForbiddenError

MAX_JSON_DEPTH = 32


SUBSCRIPTIONS_OVER_HTTP = (
    "subscriptions are served over WebSocket on this path (graphql-transport-ws, the key in connection_init; "
    "docs/live.md); over HTTP use the changes query"
)
MESSAGE_TOO_LARGE = 4413
"""Close code for a WebSocket message over MAX_BODY_BYTES (like HTTP's 413)."""
INVALID_MESSAGE = 4400
"""graphql-transport-ws's close code for a message it cannot take."""
CLOSE_REASON_BYTES = 123
"""The longest reason a close frame carries (RFC 6455)."""
SLOW_CONSUMER_SECONDS = 10.0
"""A client that has not taken a message for this long is disconnected (close code 1013)."""


class DocumentTooLargeError(HTTPException):
    """A document longer than MAX_DOCUMENT_CHARACTERS, refused before any parse (413)."""

    def __init__(self, characters: int) -> None:
        super().__init__(413, document_too_large(characters))


class LiveSocketHandler(GraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Any) -> None:
        """Strawberry's, for a message of the protocol's shape; any other closes the socket with
        4400 (Strawberry reads the fields without checking their types: a TypeError would escape
        as a traceback and drop the socket unclosed)."""
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's `run_operation`, with a context per operation and subscriptions only."""
        if len(operation.query) > MAX_DOCUMENT_CHARACTERS:
            charge_refused_text(getattr(self.schema, "budgets", None), self.context.principal, len(operation.query))
            error = {"message": document_too_large(len(operation.query)), "extensions": {"code": DOCUMENT_TOO_LARGE}}
            await operation.send_operation_message({"id": operation.id, "type": "error", "payload": [error]})
            self.operations.pop(operation.id, None)
            return
        context = self.context.for_operation()
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
                allowed_operation_types=(OperationType.SUBSCRIPTION,),
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        finally:
            await context.close()

    async def send_message(self, message: Any) -> None:
        """Sending waits for the client (the socket's buffers are bounded); a client that stops
        reading is closed with 1013 instead of holding its subscriptions forever."""
        try:
            async with asyncio.timeout(SLOW_CONSUMER_SECONDS):
                await super().send_message(message)
        except TimeoutError:
            await self.websocket.close(1013, f"slow consumer: no message taken for {SLOW_CONSUMER_SECONDS:g} s")


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames: our JSON encoder writes bytes (orjson),
    which Strawberry would send as binary frames that a browser's `graphql-ws` cannot parse.

    A message is read under the limits of an HTTP body: at most `MAX_BODY_BYTES` of UTF-8, else
    the socket is closed with 4413 (the protocol defines no error message for a frame it cannot
    read, and a message too large is never decoded to find its id; `sentinai serve` also sets
    uvicorn's `ws_max_size`, which closes with 1009 before buffering it); JSON nested at most
    `MAX_JSON_DEPTH` deep, and anything that is not JSON, else 4400, as graphql-transport-ws closes
    on any message it cannot take."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                refusal, message = self._read(await self.ws.receive_text())
                if refusal is not None:
                    await self.close(*refusal)
                    return
                yield message
        except KeyError as binary:  # Starlette's receive_text on a binary frame
            raise NonTextMessageReceived from binary
        except WebSocketDisconnect:
            return

    def _read(self, text: str) -> tuple[tuple[int, str] | None, object]:
        """The decoded message, or the close code and reason that refuse it."""
        if len(text) > MAX_BODY_BYTES or (len(text) * 4 > MAX_BODY_BYTES and len(text.encode()) > MAX_BODY_BYTES):
            return (MESSAGE_TOO_LARGE, f"message exceeds {MAX_BODY_BYTES} bytes"), None
        try:
            return None, self.view.decode_json(text)
        except HTTPException as refused:
            return (INVALID_MESSAGE, refused.reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")), None

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        try:
            await self.ws.send_text(encoded.decode() if isinstance(encoded, bytes) else encoded)
        except WebSocketDisconnect as gone:
            raise WebSocketDisconnected from gone


class SentinaiGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = LiveSocketHandler
    websocket_adapter_class = TextFrames

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the socket once, from `connection_init`'s payload, exactly as a request's
        header: a refused key closes it with 4403."""
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": 'send {"Authorization": "Bearer <key>"} in connection_init'})
        try:
            principal = await context.runtime.authenticator.authenticate(authorization)
        except (AuthenticationError, ForbiddenError) as refused:
            raise ConnectionRejectionError({"message": refused.message}) from None
        context.principal, context.authorization = principal, authorization
        return UNSET

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = _refusal(error, media_type_of(scope))
        await response(scope, receive, send)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, refusing a document longer than MAX_DOCUMENT_CHARACTERS before any parse.
        A POSTed JSON body is refused, and charged, by the endpoint first (`api.endpoint`, from its
        one decoding of the body); this catches a GET's query and the path without document reads."""
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            if isinstance(data.query, str) and len(data.query) > MAX_DOCUMENT_CHARACTERS:
                raise DocumentTooLargeError(len(data.query))
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        runtime = request.app.state.runtime
        # No principal only while rendering the GraphiQL page, which runs no operation.
        principal: Principal | None = getattr(request.state, "principal", None)
        return Context(
            request,
            response,
            principal,  # type: ignore[arg-type]
            runtime.session_factory,
            forget_credentials=runtime.authenticator.forget,
            now=runtime.clock(),
            runtime=runtime,
        )

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        result.errors = [with_code(error) for error in result.errors] if result.errors else result.errors
        processed = await super().process_result(request, result)
        _observe(result)
        if is_request_error(result):
            processed.pop("data", None)  # nothing executed: the specification's request error has no data
        return processed

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = getattr(sub_response, "media_type", None) or "application/json"
        response = Response(self.encode_json(response_data), 200, media_type=media_type)
        response.headers.raw.extend(header for header in sub_response.headers.raw if header[0] != b"content-type")
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        elif media_type == GRAPHQL_RESPONSE and isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = media_type_of(request.scope)
        return sub_response

    def encode_json(self, data: object) -> bytes:
        """The one wire encoder (`wire.encode_json`), as webhooks and jsonb parameters use it: JSON
        that PostgreSQL rendered (a planned root field, a jsonb number) goes in as it is."""
        return wire.encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = json.loads(data)
        except RecursionError:  # the decoder recurses per level: ~1,000 levels is a 2 KB body
            raise HTTPException(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as error:  # not UTF-8, or a number of more than 4,300 digits
            raise HTTPException(400, f"the body is not JSON this server can read: {_reason(error)}") from None
        if _depth(decoded, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise HTTPException(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return decoded


def malformed(message: object) -> str | None:
    """What makes a decoded message other than graphql-transport-ws, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message is a JSON object with a string type"
    if message["type"] in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f"a {message['type']} message has a string id"
    if message["type"] != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "a subscribe message's payload is an object with a string query"
    if not isinstance(payload.get("variables") or {}, dict) or not isinstance(payload.get("operationName") or "", str):
        return "a subscribe message's variables are an object and its operationName a string"
    return None


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing executed: every error precedes execution, so none has a path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _observe(result: ExecutionResult) -> None:
    errors = result.errors or []
    codes = [str((error.extensions or {}).get("code")) for error in errors]
    telemetry.note_errors(
        codes, [str((error.extensions or {})["errorId"]) for error in errors if "errorId" in (error.extensions or {})]
    )
    if is_request_error(result):
        telemetry.refused(codes[0].lower())


def _refusal(error: HTTPException, media_type: str) -> Response:
    reason = error.reason
    if isinstance(error, DocumentTooLargeError):
        telemetry.refused("document_too_large")
        return error_response(413, DOCUMENT_TOO_LARGE, reason, None, media_type)
    if reason.startswith("subscriptions are not allowed"):  # api.schema: they live on the WebSocket
        telemetry.refused("websocket_required")
        status = 400 if media_type == GRAPHQL_RESPONSE else 200  # a request error, as the specification words it
        return error_response(status, "WEBSOCKET_REQUIRED", SUBSCRIPTIONS_OVER_HTTP, None, media_type)
    telemetry.refused(TRANSPORT_CODES.get(error.status_code, "BAD_REQUEST").lower())
    if "not allowed when using GET" in reason:
        return error_response(405, "METHOD_NOT_ALLOWED", reason, {"Allow": "POST"}, media_type)
    if reason == "Unsupported content type":
        message = "send the request as application/json (or a GET with ?query=)"
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", message, None, media_type)
    if reason.startswith(("Unknown operation named", "Can't get GraphQL operation type")):
        status = 400 if media_type == GRAPHQL_RESPONSE else 200  # a request error, not a transport one
        return error_response(status, "GRAPHQL_VALIDATION_FAILED", reason, None, media_type)
    code = TRANSPORT_CODES.get(error.status_code, "BAD_REQUEST")
    return error_response(error.status_code, code, reason, None, media_type)


def _reason(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8"
    return str(error).split(";")[0][:120]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping early once past `limit`."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)
