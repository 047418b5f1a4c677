"""Browsers on other origins may call the API only from the origins the operator lists."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio

from sentinai.config import ConfigurationError, Settings

pytestmark = pytest.mark.asyncio

CONSOLE = "https://console.example.com"


@pytest_asyncio.fixture
async def with_cors(runtime):
    from dataclasses import replace

    from sentinai.api.app import Runtime, create_app

    settings = replace(runtime.settings, cors_origins=(CONSOLE,))
    app = create_app(runtime=Runtime(settings, runtime.engine, runtime.session_factory, runtime.authenticator))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sentinai.test") as http:
        yield http


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(with_cors):
    response = await with_cors.options("/graphql", headers=preflight(CONSOLE))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CONSOLE
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_a_call_from_an_allowed_origin_carries_the_cors_headers(with_cors, api_a):
    headers = {"Origin": CONSOLE, "Authorization": f"Bearer {api_a.viewer}"}
    response = await with_cors.post("/graphql", json={"query": "{ viewer { role } }"}, headers=headers)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CONSOLE


async def test_another_origin_is_refused(with_cors):
    response = await with_cors.options("/graphql", headers=preflight("https://evil.example.com"))

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_by_default(gql):
    response = await gql.http.options("/graphql", headers=preflight(CONSOLE))

    assert "access-control-allow-origin" not in response.headers


async def test_a_wildcard_is_refused_in_production_and_origins_are_checked():
    with pytest.raises(ConfigurationError, match="production"):
        Settings.from_env({"SENTINAI_ENV": "production", "SENTINAI_CORS_ORIGINS": "*"})
    with pytest.raises(ConfigurationError, match="not an origin"):
        Settings.from_env({"SENTINAI_CORS_ORIGINS": "console.example.com/app"})
    assert Settings.from_env({"SENTINAI_CORS_ORIGINS": f"{CONSOLE}/, http://localhost:5173"}).cors_origins == (
        CONSOLE,
        "http://localhost:5173",
    )
