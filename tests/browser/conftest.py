"""A real browser (`cdp`): one headless Chromium for the run, a fresh tab for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.browser import cdp


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[cdp.Browser]:
    async with cdp.launched() as launched:
        yield launched


@pytest_asyncio.fixture
async def page(browser: cdp.Browser) -> AsyncIterator[cdp.Page]:
    async with browser.new_page() as tab:
        yield tab
