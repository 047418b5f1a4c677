"""Strawberry's HTTP view, fitted to the GraphQL-over-HTTP specification and to our encoding.

- Strawberry's own refusals (bad JSON, no query, a batch, an unknown operation, a mutation over
  GET, an unsupported content type) become JSON errors with the status the specification gives
  (405 with `Allow: POST` for a mutation over GET, 415 for a content type we do not read).
- A request error (nothing executed: parse, validation, variable or operation-selection
  failures) carries no `data`, and is a 400 under `application/graphql-response+json`.
- Responses are written with orjson; JSON that PostgreSQL rendered is spliced in as it is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types.execution import ExecutionResult

from sentinai import telemetry
from sentinai.api.errors import with_code
from sentinai.api.http import GRAPHQL_RESPONSE, TRANSPORT_CODES, error_response, media_type_of
from sentinai.api.planner import RenderedField
from sentinai.auth import Principal
from sentinai.context import Context

MAX_JSON_DEPTH = 32


class SentinaiGraphQL(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = _refusal(error, media_type_of(scope))
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
