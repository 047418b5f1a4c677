"""GraphiQL works in a real browser on a machine without internet, and only outside production."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sentinai.api.graphiql import MANIFEST
from tests.api.helpers import api_app
from tests.servers import serving

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

README = Path(__file__).resolve().parents[2] / "README.md"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
VARIABLES_EDITOR = ".graphiql-editor-tool .CodeMirror"


def readme_query() -> str:
    return re.search(r"```graphql\n(.*?)```", README.read_text(), re.S).group(1)


def set_editor(selector: str, text: str) -> str:
    """JavaScript that replaces an editor's text the way typing would, firing GraphiQL's onEdit."""
    return f"document.querySelector({json.dumps(selector)}).CodeMirror.setValue({json.dumps(text)})"


@pytest.fixture(autouse=True)
def installed_assets(runtime) -> None:
    missing = MANIFEST.missing(runtime.settings.assets_dir)
    if missing:
        pytest.fail(f"GraphiQL's files are not installed ({', '.join(missing)}): run sentinai install-assets")


async def test_graphiql_loads_offline_and_runs_the_readme_query_with_the_key_typed_into_the_page(
    runtime, page, factory, api_a
):
    await factory.exception(api_a.tenant_id, "STL-BROWSER-0001")

    async with serving(api_app(runtime)) as base:
        await page.goto(f"{base}/graphql")
        await page.wait_for(f"!!document.querySelector({json.dumps(QUERY_EDITOR)})")
        await page.type_text("#api-key", api_a.viewer)
        await page.click("#key-form button[type=submit]")
        await page.evaluate(set_editor(QUERY_EDITOR, readme_query()))
        await page.evaluate(set_editor(VARIABLES_EDITOR, '{"exceptionId": "STL-BROWSER-0001"}'))
        await page.click(".graphiql-execute-button")
        result = await page.wait_for(
            "(t => t.includes('STL-BROWSER-0001') && t)(document.querySelector('.graphiql-response').innerText)"
        )

    assert '"exceptionId": "STL-BROWSER-0001"' in result and '"errors"' not in result
    assert {urlsplit(url).hostname for url in page.requests if not url.startswith("data:")} == {"127.0.0.1"}
    assert {urlsplit(url).path.rsplit("/", 1)[-1] for url in page.requests} >= set(MANIFEST.file_names())


async def test_the_key_is_kept_in_the_browser_until_it_is_forgotten(runtime, page, api_a):
    async with serving(api_app(runtime)) as base:
        await page.goto(f"{base}/graphql")
        await page.type_text("#api-key", api_a.viewer)
        await page.click("#key-form button[type=submit]")
        await page.goto(f"{base}/graphql")
        kept = await page.evaluate("localStorage.getItem('sentinai.apiKey')")
        shown = await page.evaluate("document.getElementById('key-state').innerText")
        await page.click("#forget-key")
        forgotten = await page.evaluate("localStorage.getItem('sentinai.apiKey')")

    assert kept == api_a.viewer and api_a.viewer[-4:] in shown
    assert forgotten is None


async def test_production_serves_no_graphiql_page(runtime, page):
    async with serving(api_app(runtime, environment="production")) as base:
        await page.goto(f"{base}/graphql")
        text = await page.evaluate("document.body.innerText")
        graphiql = await page.evaluate("!!document.getElementById('graphiql')")
        asset = await page.evaluate(f"fetch('/graphiql/assets/{next(MANIFEST.file_names())}').then(r => r.status)")

    assert not graphiql and "GraphiQL" not in text and "NOT_FOUND" in text
    assert asset == 404
