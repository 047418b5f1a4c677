"""A real browser against a real server: headless Chromium (`cdp`), uvicorn on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest_asyncio
import uvicorn
from starlette.types import ASGIApp

from tests.browser import cdp


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[cdp.Browser]:
    async with cdp.launched() as launched:
        yield launched


@pytest_asyncio.fixture
async def page(browser: cdp.Browser) -> AsyncIterator[cdp.Page]:
    async with browser.new_page() as tab:
        yield tab


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 and a port the system picks; yields its base URL.

    It runs in the test's event loop, so an app built on the test runtime shares its engine."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def api_app(runtime, **settings: Any) -> ASGIApp:
    """The API over the test runtime's database, with some settings changed."""
    from sentinai.api.app import Runtime, create_app

    changed = replace(runtime.settings, **settings)
    return create_app(runtime=Runtime(changed, runtime.engine, runtime.session_factory, runtime.authenticator))
