"""The Starlette application: /graphql, /healthz, /readyz."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from sentinai.api_schema import schema
from sentinai.auth import Authenticator, Principal
from sentinai.config import Settings
from sentinai.context import Context
from sentinai.db.engine import create_engine, create_session_factory, wait_for_database
from sentinai.db.migrations import current_revision, head_revision
from sentinai.errors import AuthenticationError, ForbiddenError

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Runtime:
    """Long-lived resources, created in the lifespan (or by a test) and kept on app.state."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
        engine = engine or create_engine(settings)
        factory = create_session_factory(engine)
        return cls(settings, engine, factory, Authenticator(factory, settings.admin_token, settings.auth_cache_seconds))


class SentinaiGraphQL(GraphQL):
    async def get_context(self, request: Request, response: Any) -> Context:
        runtime: Runtime = request.app.state.runtime
        # No principal only while rendering the GraphiQL page, which runs no operation.
        principal: Principal | None = getattr(request.state, "principal", None)
        return Context(
            request,
            response,
            principal,
            runtime.session_factory,
            now=runtime.clock(),
            forget_credentials=runtime.authenticator.forget,
        )  # type: ignore[arg-type]


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="sentinai"'} if status == 401 else None
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


class GraphQLEndpoint:
    """Authenticates every operation before Strawberry sees it; the GraphiQL page (a
    browser's GET without a query) needs no credential, its requests do."""

    def __init__(self, settings_graphiql: bool) -> None:
        self.graphql = SentinaiGraphQL(
            schema, graphql_ide="graphiql" if settings_graphiql else None, allow_queries_via_get=True
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET" and "query" not in request.query_params:
            await self.graphql(scope, receive, send)
            return
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            await _error(413, "BODY_TOO_LARGE", f"request body exceeds {MAX_BODY_BYTES} bytes")(scope, receive, send)
            return
        runtime: Runtime = request.app.state.runtime
        try:
            request.state.principal = await runtime.authenticator.authenticate(request.headers.get("authorization"))
        except AuthenticationError as error:
            await _error(401, error.code, error.message)(scope, receive, send)
            return
        except ForbiddenError as error:
            await _error(403, error.code, error.message)(scope, receive, send)
            return
        await self.graphql(scope, receive, send)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at the head revision."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT set_config('role', 'sentinai_auth', true)"))
            revision = await current_revision(connection)
    except Exception as error:  # any failure means "not ready"; the reason goes to the log only
        log.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503, {"Retry-After": "2"})
    if revision != head_revision():
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, 503, {"Retry-After": "5"})
    return JSONResponse({"status": "ready", "revision": revision})


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    """The ASGI app. Give `runtime` to reuse an engine (tests); otherwise the lifespan builds one.

    The database must already be provisioned and migrated (`sentinai serve` does both).
    """
    settings = settings or (runtime.settings if runtime else Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        built = Runtime.build(settings)
        await wait_for_database(built.engine, settings.db_connect_attempts)
        app.state.runtime = built
        try:
            yield
        finally:
            await built.engine.dispose()

    endpoint = GraphQLEndpoint(settings_graphiql=not settings.is_production)
    app = Starlette(
        routes=[Route("/graphql", endpoint), Route("/healthz", healthz), Route("/readyz", readyz)],
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    return app
