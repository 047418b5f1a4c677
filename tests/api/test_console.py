"""The console's files are served with a strict policy, outside production only, and stay small."""

from __future__ import annotations

import re

import httpx
import pytest

from sentinai import console
from sentinai.config import Settings
from tests.api.helpers import api_app

PAGE_WEIGHT_LIMIT = 150 * 1024


async def fetch(app, path: str, **headers: str | bytes) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sentinai.test") as http:
        return await http.get(path, headers=headers)


def connect_src(response: httpx.Response) -> str:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    return next(d for d in directives if d.startswith("connect-src "))


@pytest.mark.asyncio
async def test_the_page_and_every_file_it_loads_are_served_with_the_policy(runtime):
    app = api_app(runtime)
    page = await fetch(app, "/console")
    loaded = re.findall(r'(?:src|href)="/console/([^"]+)"', page.text)
    files = {name: await fetch(app, f"/console/{name}") for name in loaded}

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert set(loaded) == set(console.served_files()) - {"index.html"}
    for response in [page, *files.values()]:
        assert response.status_code == 200
        assert response.headers["content-security-policy"].startswith("default-src 'self'; ")
        assert connect_src(response) == "connect-src 'self' ws://sentinai.test wss://sentinai.test"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert all(files[n].headers["content-type"].startswith("text/javascript") for n in loaded if n.endswith(".js"))


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "ops.example.com"])
async def test_websockets_are_allowed_to_the_requested_host_only(runtime, host):
    response = await fetch(api_app(runtime), "/console", host=host)

    assert connect_src(response) == f"connect-src 'self' ws://{host} wss://{host}"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "host",
    [
        "evil.example; script-src *",
        "a.example ws://evil.example",
        "a.example, evil.example",
        "*",
        "*.example.com",
        "a.example/path",
        "user@a.example",
        "[::1]:8000",
        "a.example:99999",
        "under_score.example",
        "a.example.",
        "bücher.example",
        "",
    ],
)
async def test_a_host_header_that_is_not_a_plain_host_and_port_leaves_only_self(runtime, host):
    response = await fetch(api_app(runtime), "/console/app.js", host=host.encode())

    assert connect_src(response) == "connect-src 'self'"
    assert response.headers["content-security-policy"].count(";") == console.POLICY.count(";")


def test_the_page_has_no_inline_script_or_style():
    for name, path in console.served_files().items():
        if name.endswith(".html"):
            text = path.read_text()
            assert "<style" not in text and " style=" not in text
            assert all(" src=" in tag for tag in re.findall(r"<script[^>]*>", text))


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["__init__.py", "index.html", "..%2Fconfig.py", "missing.js"])
async def test_nothing_but_the_pages_own_assets_is_served_by_name(runtime, name):
    response = await fetch(api_app(runtime), f"/console/{name}")

    assert response.status_code == 404


@pytest.mark.asyncio
async def test_production_serves_no_console_unless_asked(runtime):
    assert (await fetch(api_app(runtime, environment="production"), "/console")).status_code == 404
    assert (await fetch(api_app(runtime, environment="production", console=True), "/console")).status_code == 200
    assert (await fetch(api_app(runtime, console=False), "/console/app.js")).status_code == 404


def test_the_setting_is_on_by_default_outside_production_and_off_in_it():
    assert Settings.from_env({}).serves_console
    assert not Settings.from_env({"SENTINAI_ENV": "production"}).serves_console
    assert Settings.from_env({"SENTINAI_ENV": "production", "SENTINAI_CONSOLE": "true"}).serves_console
    assert not Settings.from_env({"SENTINAI_CONSOLE": "off"}).serves_console


def test_the_pages_own_code_and_styles_weigh_under_150_kb():
    weight = sum(path.stat().st_size for path in console.served_files().values())
    print(f"console page weight: {weight} bytes ({len(console.served_files())} files)")

    assert weight < PAGE_WEIGHT_LIMIT
