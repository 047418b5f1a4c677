"""The /graphql endpoint: admission control, body limits, authentication, then Strawberry."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from decimal import Decimal
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.http.ides import GraphQL_IDE

from sentinai.api.planner import RenderedField
from sentinai.auth import Principal
from sentinai.config import Settings
from sentinai.context import Context
from sentinai.db.faults import is_unavailable
from sentinai.errors import AuthenticationError, ForbiddenError

log = logging.getLogger("sentinai.errors")

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extensions: Any
) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="sentinai"'}
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return JSONResponse(body, status, headers)


def _reason(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8"
    return str(error).split(";")[0][:120]


def _raw_json(value: object) -> orjson.Fragment:
    if isinstance(value, RenderedField):
        return orjson.Fragment(value.json)
    if isinstance(value, Decimal):  # a jsonb number (db.engine.decode_jsonb): PostgreSQL's digits
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping early once past `limit`."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


TRANSPORT_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class SentinaiGraphQL(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's own refusals (bad JSON, no query, a mutation over GET…) as JSON errors,
        so a client reports them as GraphQL errors instead of failing to parse plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            code = TRANSPORT_CODES.get(error.status_code, "BAD_REQUEST")
            response = error_response(error.status_code, code, error.reason)
        await response(scope, receive, send)

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
        )

    def encode_json(self, data: object) -> bytes:
        """orjson, splicing JSON that PostgreSQL rendered (a planned root field, a jsonb number)
        into the response as it is."""
        return orjson.dumps(data, default=_raw_json, option=orjson.OPT_PASSTHROUGH_DATACLASS)

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


class BodyTooLargeError(Exception):
    """The body grew past MAX_BODY_BYTES while it was read (a chunked body has no Content-Length)."""


def _limited(receive: Receive) -> Receive:
    read = 0

    async def receive_at_most() -> Message:
        nonlocal read
        message = await receive()
        read += len(message.get("body", b""))
        if read > MAX_BODY_BYTES:
            raise BodyTooLargeError
        return message

    return receive_at_most


class GraphQLEndpoint:
    """Sheds load before doing any work, authenticates every operation before Strawberry sees
    it, and bounds each request by a deadline. The GraphiQL page (a browser's GET without a
    query) needs no credential; its requests do."""

    def __init__(self, schema: Schema, settings: Settings) -> None:
        ide: GraphQL_IDE | None = None if settings.is_production else "graphiql"
        self.graphql = SentinaiGraphQL(schema, graphql_ide=ide, allow_queries_via_get=True)
        self.deadline = settings.request_deadline_seconds
        self.admission = asyncio.Semaphore(settings.max_concurrent_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET" and "query" not in request.query_params:
            await self.graphql(scope, receive, send)
            return
        if self.admission.locked():  # shed before any work, even before authentication
            busy = error_response(503, "OVERLOADED", "server busy: retry shortly", {"Retry-After": "1"})
            await busy(scope, receive, send)
            return
        async with self.admission:
            response = await self._refusal(request)
            if response is not None:
                await response(scope, receive, send)
                return
            await self._execute(scope, _limited(receive), send)

    async def _execute(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the operation within the deadline. Whatever escapes it becomes a JSON error
        with an error id, never a bare 500, unless the response has already started."""
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.deadline):
                await self.graphql(scope, receive, tracked_send)
        except TimeoutError:
            if started:
                raise
            message = f"request exceeded its {self.deadline:g} s deadline"
            late = error_response(503, "DEADLINE_EXCEEDED", message, {"Retry-After": "1"})
            await late(scope, receive, send)
        except BodyTooLargeError:
            if started:
                raise
            too_large = error_response(413, "BODY_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes")
            await too_large(scope, receive, send)
        except StarletteHTTPException:
            raise  # Starlette's own refusals: app.http_refusal answers them as JSON
        except Exception as error:
            if started:
                raise
            error_id = uuid.uuid4().hex[:16]
            log.error("unexpected error %s outside any field", error_id, exc_info=error)
            message = f"Internal error. Quote error id {error_id} when reporting it."
            failed = error_response(500, "INTERNAL", message, errorId=error_id)
            await failed(scope, receive, send)

    async def _refusal(self, request: Request) -> JSONResponse | None:
        """A response refusing the request before any work, or None to proceed."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error_response(413, "BODY_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes")
        try:
            authenticator = request.app.state.runtime.authenticator
            request.state.principal = await authenticator.authenticate(request.headers.get("authorization"))
        except AuthenticationError as error:
            return error_response(401, error.code, error.message)
        except ForbiddenError as error:
            return error_response(403, error.code, error.message)
        except Exception as error:
            if not is_unavailable(error):
                raise
            return error_response(
                503, "SERVICE_UNAVAILABLE", "database unavailable: retry shortly", {"Retry-After": "1"}
            )
        return None
