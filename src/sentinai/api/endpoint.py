"""The /graphql endpoint: admission control, body limits, authentication, then Strawberry."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from datetime import timedelta

from opentelemetry.trace import SpanKind
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from strawberry import Schema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from sentinai import telemetry
from sentinai.api import graphiql
from sentinai.api.http import (
    DOCUMENT_TOO_LARGE,
    MAX_BODY_BYTES,
    MAX_DOCUMENT_CHARACTERS,
    MEDIA_TYPE_KEY,
    document_too_large,
    error_response,
    negotiate,
)
from sentinai.api.prepared import PostedOperation
from sentinai.api.query_cost import charge_refused_text, tenant_budget_key
from sentinai.api.schema import SentinaiSchema
from sentinai.api.view import SentinaiGraphQL
from sentinai.auth import Principal
from sentinai.config import Settings
from sentinai.db.faults import is_unavailable
from sentinai.errors import AuthenticationError, ForbiddenError

log = logging.getLogger("sentinai.errors")


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


def _observed(send: Send, record: telemetry.RequestRecord) -> Send:
    """Notes the response's status and gives it the request's `X-Request-Id`."""

    async def send_observed(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status = message["status"]
            message = {
                **message,
                "headers": [*message.get("headers", []), (b"x-request-id", record.request_id.encode())],
            }
        await send(message)

    return send_observed


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` with `body` (already read) given again first."""
    given = False

    async def receive_again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


def _wants_a_page(request: Request) -> bool:
    """Strawberry's test for a browser (so clients that relied on it see no change)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept


class GraphQLEndpoint:
    """Sheds load before doing any work, authenticates every operation before Strawberry sees
    it, and bounds each request by a deadline. The GraphiQL page (a browser's GET without a
    query, outside production) needs no credential; its requests do."""

    def __init__(self, schema: Schema, settings: Settings) -> None:
        # Strawberry's own GraphiQL page loads its files from a CDN: ours (`api.graphiql`) does not.
        self.graphql = SentinaiGraphQL(
            schema,
            graphql_ide=None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.cors_origins,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.graphiql_assets = None if settings.is_production else settings.assets_dir
        self.deadline = settings.request_deadline_seconds
        self.admission = asyncio.Semaphore(settings.max_concurrent_requests)
        self.prepared = schema.prepared_reads if isinstance(schema, SentinaiSchema) else None
        self.budgets = schema.budgets if isinstance(schema, SentinaiSchema) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every request is observed: an `X-Request-Id` on its response, a span, metrics and one
        JSON log line (`telemetry`), whatever becomes of it."""
        request = Request(scope, receive)
        record = telemetry.RequestRecord(telemetry.request_id(request.headers.get("x-request-id")), request.method)
        token = telemetry.CURRENT.set(record)
        try:
            with telemetry.span(f"{request.method} /graphql", SpanKind.SERVER) as span:
                try:
                    await self._serve(scope, receive, _observed(send, record), request)
                finally:
                    telemetry.finish(record, span)
        finally:
            telemetry.CURRENT.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request: Request) -> None:
        if request.method == "GET" and "query" not in request.query_params:
            if self.graphiql_assets is not None and _wants_a_page(request):
                await graphiql.page(request, self.graphiql_assets)(scope, receive, send)
            else:
                await self.graphql(scope, receive, send)  # Strawberry answers 404 or "no query"
            return
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None:
            telemetry.refused("not_acceptable")
            message = "accept application/graphql-response+json or application/json"
            await error_response(406, "NOT_ACCEPTABLE", message)(scope, receive, send)
            return
        scope.setdefault("state", {})[MEDIA_TYPE_KEY] = media_type
        if self.admission.locked():  # shed before any work, even before authentication
            telemetry.refused("overloaded")
            busy = error_response(503, "OVERLOADED", "server busy: retry shortly", {"Retry-After": "1"}, media_type)
            await busy(scope, receive, send)
            return
        async with self.admission, request.app.state.runtime.foreground.request():
            response = await self._refusal(request, media_type)
            if response is not None:
                await response(scope, receive, send)
                return
            await self._execute(scope, _limited(receive), send, media_type)

    async def _execute(self, scope: Scope, receive: Receive, send: Send, media_type: str) -> None:
        """Run the operation within the deadline. Whatever escapes it becomes a JSON error
        with an error id, never a bare 500, unless the response has already started."""
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.deadline):
                unanswered = await self._answer_prepared(scope, receive, tracked_send, media_type)
                if unanswered is not None:
                    await self.graphql(scope, unanswered, tracked_send)
        except TimeoutError:
            telemetry.refused("deadline_exceeded")
            if started:
                raise
            message = f"request exceeded its {self.deadline:g} s deadline"
            late = error_response(503, "DEADLINE_EXCEEDED", message, {"Retry-After": "1"}, media_type)
            await late(scope, receive, send)
        except BodyTooLargeError:
            telemetry.refused("body_too_large")
            if started:
                raise
            too_large = f"request body exceeds {MAX_BODY_BYTES} bytes"
            await error_response(413, "BODY_TOO_LARGE", too_large, None, media_type)(scope, receive, send)
        except StarletteHTTPException:
            raise  # Starlette's own refusals: app.http_refusal answers them as JSON
        except Exception as error:
            if started:
                raise
            error_id = uuid.uuid4().hex[:16]
            telemetry.note_errors(["INTERNAL"], [error_id])
            log.error("unexpected error %s outside any field", error_id, exc_info=error)
            message = f"Internal error. Quote error id {error_id} when reporting it."
            failed = error_response(500, "INTERNAL", message, None, media_type, errorId=error_id)
            await failed(scope, receive, send)

    async def _answer_prepared(self, scope: Scope, receive: Receive, send: Send, media_type: str) -> Receive | None:
        """Answer a read the pipeline has prepared (`api.prepared`) and return None; otherwise
        return what the pipeline should receive: the body, already read here, then the rest."""
        request = Request(scope, receive)
        if self.prepared is None or request.method != "POST" or not _is_json(request):
            return receive
        body = await request.body()
        unanswered = _replaying(body, receive)
        decoded = PostedOperation.decoded(body)
        if decoded is not None and len(decoded.query) > MAX_DOCUMENT_CHARACTERS:  # refused without decoding it again
            telemetry.refused("document_too_large")
            charge_refused_text(self.budgets, request.state.principal, len(decoded.query))
            too_long = document_too_large(len(decoded.query))
            await error_response(413, DOCUMENT_TOO_LARGE, too_long, None, media_type)(scope, unanswered, send)
            return None
        found = None if decoded is None else self.prepared.lookup(decoded, request.state.principal)
        if decoded is None or found is None:
            return unanswered
        context = await self.graphql.get_context(request, Response())
        try:
            answer = await self.prepared.answer(found, decoded, context)
        finally:
            await context.close()
        if answer is None:
            return unanswered
        await Response(self.graphql.encode_json(answer), 200, media_type=media_type)(scope, unanswered, send)
        return None

    async def _refusal(self, request: Request, media_type: str) -> Response | None:
        """A response refusing the request before any work, or None to proceed."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            telemetry.refused("body_too_large")
            return error_response(
                413, "BODY_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes", None, media_type
            )
        try:
            authenticator = request.app.state.runtime.authenticator
            principal = request.state.principal = await authenticator.authenticate(request.headers.get("authorization"))
        except AuthenticationError as error:
            telemetry.refused("unauthenticated")
            return error_response(401, error.code, error.message, None, media_type)
        except ForbiddenError as error:
            telemetry.refused("tenant_not_active")
            return error_response(403, error.code, error.message, None, media_type)
        except Exception as error:
            if not is_unavailable(error):
                raise
            telemetry.refused("database_unavailable")
            unavailable = "database unavailable: retry shortly"
            return error_response(503, "SERVICE_UNAVAILABLE", unavailable, {"Retry-After": "1"}, media_type)
        record = telemetry.current()
        if record is not None:
            record.tenant = principal.tenant_id
            record.role = principal.role_name
        return self._in_debt(principal, media_type)

    def _in_debt(self, principal: Principal, media_type: str) -> Response | None:
        """A tenant whose budget is in debt (it sent documents past the length we parse) is
        refused before its body is read: each such refusal still cost a read and a decoding."""
        bucket = None if self.budgets is None else self.budgets.bucket(tenant_budget_key(principal))
        now = time.monotonic()
        if bucket is None or not bucket.in_debt(now):
            return None
        telemetry.refused("throttled")
        wait = math.ceil(bucket.seconds_until(0))
        message = f"Query budget in debt from documents too long to parse; retry in {wait} s."
        return error_response(429, "THROTTLED", message, {"Retry-After": str(wait)}, media_type)
