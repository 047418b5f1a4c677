"""A page on another origin may call the API from a real browser only when SENTINAI_CORS_ORIGINS lists it."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.api.helpers import api_app
from tests.servers import serving

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


async def console_page(request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><title>console</title><p>a console on another origin</p>")


CONSOLE = Starlette(routes=[Route("/", console_page)])


def fetch_viewer(api: str, key: str) -> str:
    """JavaScript for the console page: POST a query with a bearer key (so the browser preflights)."""
    request = {
        "method": "POST",
        "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        "body": json.dumps({"query": "{ viewer { role } }"}),
    }
    return (
        f"fetch({json.dumps(api + '/graphql')}, {json.dumps(request)})"
        ".then(response => response.json(), error => 'refused: ' + error.message)"
    )


async def test_a_listed_origin_calls_the_api_from_the_browser(runtime, page, api_a):
    async with serving(CONSOLE) as console:
        async with serving(api_app(runtime, cors_origins=(console,))) as api:
            await page.goto(f"{console}/")
            answer = await page.evaluate(fetch_viewer(api, api_a.viewer))

    assert answer["data"] == {"viewer": {"role": "VIEWER"}}


async def test_an_unlisted_origin_is_refused_by_the_browser(runtime, page, api_a):
    async with serving(CONSOLE) as console:
        async with serving(api_app(runtime, cors_origins=("http://127.0.0.1:1",))) as api:
            await page.goto(f"{console}/")
            answer = await page.evaluate(fetch_viewer(api, api_a.viewer))

    assert answer == "refused: Failed to fetch"
