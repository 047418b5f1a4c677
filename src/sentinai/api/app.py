"""The Starlette application: /graphql, /healthz, /readyz, /metrics, GraphiQL's files outside production,
and the Operations Center console when `Settings.serves_console`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from sentinai import console, telemetry
from sentinai.api import graphiql
from sentinai.api.endpoint import MAX_BODY_BYTES, GraphQLEndpoint
from sentinai.api.http import TRANSPORT_CODES, error_response
from sentinai.api.schema import build_schema
from sentinai.auth import Authenticator
from sentinai.config import Settings
from sentinai.db.engine import create_engine, create_session_factory, wait_for_database
from sentinai.db.migrations import database_revision, head_revision
from sentinai.db.notifications import ChangeNotifier
from sentinai.resolvers.subscriptions import recheck_sockets
from sentinai.services.webhook_delivery import WebhookDispatcher
from sentinai.shares import FairShare, Foreground, LoopShare

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Long-lived resources, created in the lifespan (or by a test) and kept on app.state."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    authenticator: Authenticator
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    notifier: ChangeNotifier = field(init=False)
    subscriptions: Counter[object] = field(init=False, default_factory=Counter)
    """Open live subscriptions per API key (the platform admin has none)."""
    tails: dict[str, Any] = field(init=False, default_factory=dict)
    """Each tenant's shared tail of its change log, for live timelines (`resolvers.subscriptions`)."""
    live_share: FairShare = field(init=False)
    """The pool connections live subscriptions may hold, in all and per tenant (`shares`)."""
    delivery_turns: FairShare = field(init=False)
    """Turns on the event loop for live deliveries: one tenant's at a time, four tenants at once."""
    loop_share: LoopShare = field(init=False)
    """How much of the event loop each tenant's live deliveries may use (`shares`)."""
    foreground: Foreground = field(init=False, default_factory=Foreground)
    """HTTP requests in flight, which live deliveries give way to for a moment (`shares`)."""

    live_contexts: dict[int, Any] = field(init=False, default_factory=dict)
    """The contexts of the live subscriptions open in this process, by identity (`resolvers.subscriptions`)."""
    _rechecks: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.notifier = ChangeNotifier(self.engine)
        self.live_share = FairShare(self.settings.live_pool_share, self.settings.live_reads_per_tenant)
        self.delivery_turns = FairShare(total=4, per_tenant=1)
        self.loop_share = LoopShare(self.settings.live_loop_share)
        self.notifier.on_credentials_changed(self.authenticator.forget)
        self.notifier.on_credentials_changed(self._recheck_sockets)  # after forgetting: the checks look again

    def _recheck_sockets(self) -> None:
        """A key was revoked or a tenant's status changed: every live socket checks its key now."""
        if not self.live_contexts:
            return
        task = asyncio.get_running_loop().create_task(recheck_sockets(list(self.live_contexts.values())))
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine | None = None) -> Runtime:
        engine = engine or create_engine(settings)
        factory = create_session_factory(engine)
        return cls(settings, engine, factory, Authenticator(factory, settings.admin_token, settings.auth_cache_seconds))


async def metrics(request: Request) -> Response:
    """Prometheus' text format: this process's request, cost, rejection, pool and retry metrics."""
    telemetry.pool_state(request.app.state.runtime.engine)
    return Response(telemetry.exposition(), media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at the head revision."""
    runtime: Runtime = request.app.state.runtime
    try:
        revision = await database_revision(runtime.engine)
    except Exception as error:  # any failure means "not ready"; the reason goes to the log only
        log.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503, {"Retry-After": "2"})
    if revision != head_revision():
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, 503, {"Retry-After": "5"})
    return JSONResponse({"status": "ready", "revision": revision})


async def http_refusal(request: Request, refusal: Exception) -> Response:
    """Starlette's own refusals (the body limit's 413, an unknown path's 404) as JSON errors."""
    assert isinstance(refusal, HTTPException)
    code = TRANSPORT_CODES.get(refusal.status_code, "BAD_REQUEST")
    message = f"request body exceeds {MAX_BODY_BYTES} bytes" if refusal.status_code == 413 else refusal.detail
    return error_response(refusal.status_code, code, message, dict(refusal.headers or {}))


def cors(settings: Settings) -> list[Middleware]:
    """Cross-origin browser calls from the configured origins only. The middleware wraps the
    whole app, so a preflight is answered before authentication (it carries no credential)."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["X-Request-Id", "Retry-After"],
            max_age=600,
        )
    ]


def served_app() -> Starlette:
    """The app of one `sentinai serve --workers N` process, configured from the environment that
    `serve` prepared: the request log and tracing as a single-process `serve` sets them up."""
    telemetry.json_request_log()
    telemetry.tracing_from_environment(os.environ)
    return create_app()


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
        built.notifier.keep_listening()  # revocations from other processes reach this one at once
        dispatcher = WebhookDispatcher(built.session_factory, settings.webhook_policy)
        delivering = asyncio.create_task(dispatcher.run(), name="sentinai-webhooks")
        try:
            yield
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            await dispatcher.client.aclose()
            await built.notifier.stop()
            await built.engine.dispose()
            telemetry.shutdown_tracing()

    endpoint = GraphQLEndpoint(build_schema(settings), settings)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint),  # the endpoint limits bodies itself, answering JSON
            WebSocketRoute("/graphql", endpoint.graphql),  # subscriptions: graphql-transport-ws
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route("/readyz", readyz),
            *([] if settings.is_production else graphiql.asset_routes(settings.assets_dir)),
            *(console.routes() if settings.serves_console else []),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_refusal},
        middleware=cors(settings),
    )
    if runtime is not None:
        app.state.runtime = runtime
    return app
