"""Real servers for the tests: uvicorn on 127.0.0.1 and a port the system picks, in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serving(app: ASGIApp, *, websockets: bool = False, **options: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 and a port the system picks; yields its base URL.

    It runs in the test's event loop, so an app built on the test runtime shares its engine.
    `websockets` also serves the live subscriptions (graphql-transport-ws on /graphql); `options`
    are more of uvicorn's."""
    ws = "auto" if websockets else "none"
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, ws=ws, **options)
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
