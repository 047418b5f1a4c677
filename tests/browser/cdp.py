"""Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test.

Raw CDP over `websockets` (already installed with uvicorn) rather than Playwright: no new
dependency, no Node.js driver process (Playwright's wheel ships one; our users have only
Python), no browser download, and exactly the Chromium flags below, nothing added.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The machine is offline as far as the browser knows: any name but localhost fails to resolve,
    # so a page that needed a CDN would stay blank.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
]


class BrowserError(Exception):
    """The page threw, or a condition never became true."""


class Page:
    """One tab. `requests` lists the URL of every request it has made."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id
        self.requests: list[str] = []
        self.loaded = asyncio.Event()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session_id)

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            self.loaded.set()

    async def goto(self, url: str) -> None:
        self.loaded.clear()
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(self.loaded.wait(), 15)

    async def evaluate(self, expression: str) -> Any:
        """The expression's value (awaited when it is a promise), as JSON."""
        reply = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in reply:
            raise BrowserError(reply["exceptionDetails"].get("exception", {}).get("description", reply))
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Polls until the expression is truthy; returns its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise BrowserError(f"still false after {timeout} s: {expression}")
            await asyncio.sleep(0.1)

    async def type_text(self, selector: str, text: str) -> None:
        """Focus the element and type into it as a keyboard would (input events and all)."""
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.send("Input.insertText", text=text)

    async def click(self, selector: str) -> None:
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


class Browser:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}

    async def send(self, method: str, params: dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        reply = self.pending[message["id"]] = asyncio.get_running_loop().create_future()
        await self.connection.send(json.dumps(message))
        return await asyncio.wait_for(reply, 30)

    async def read(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if "id" in message:
                reply = self.pending.pop(message["id"])
                if "error" in message:
                    reply.set_exception(BrowserError(f"{message['error']}"))
                else:
                    reply.set_result(message["result"])
            elif message.get("sessionId") in self.pages:
                self.pages[message["sessionId"]].on_event(message["method"], message["params"])

    @asynccontextmanager
    async def new_page(self) -> AsyncIterator[Page]:
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        page = self.pages[session] = Page(self, session)
        try:
            for domain in ("Page", "Network", "Runtime"):
                await page.send(f"{domain}.enable")
            yield page
        finally:
            del self.pages[session]
            await self.send("Target.closeTarget", {"targetId": target})


async def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes its DevTools port into the profile once it listens."""
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and len(lines := port_file.read_text().split()) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            raise BrowserError(f"Chromium exited with {process.returncode}")
        await asyncio.sleep(0.05)
    raise BrowserError("Chromium did not open its DevTools port within 15 s")


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Headless Chromium on a fresh profile, removed afterwards with the process."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium", pytrace=False)
    profile = Path(tempfile.mkdtemp(prefix="sentinai-chromium-"))
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with connect(await _devtools_url(profile, process), max_size=None) as connection:
            browser = Browser(connection)
            reader = asyncio.create_task(browser.read())
            try:
                yield browser
            finally:
                reader.cancel()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
