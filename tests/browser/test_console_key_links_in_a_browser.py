"""`#key=…` links: the key never stays in the address or the tab's history, and a link that brings
another tenant's (or role's) key to a signed-in tab asks before switching, on a full load and in an
open tab alike."""

from __future__ import annotations

import json

import pytest

from tests.browser.cdp import Page
from tests.browser.test_console_in_a_browser import ROW_IDS, console, ingest_many, open_view, painted, screenshot

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

STORED_KEY = "sessionStorage.getItem('sentinai.console.key')"
DIALOG = "document.querySelector('dialog#switch-key[open]')"
WHO_AM_I = "query { viewer { role tenant { tenantId name } } }"


async def follow(page: Page, href: str) -> None:
    """Follows a link in the open page, as a reader clicking it would (the router leaves it alone)."""
    await page.evaluate(
        f"(a => {{ a.href = {json.dumps(href)}; document.body.append(a); a.click(); a.remove(); }})"
        "(document.createElement('a'))"
    )


async def back_and_forth(page: Page) -> list[str]:
    """The address of this history entry, of the one before it, and of this one again."""
    return await page.evaluate(
        """(async () => {
          const step = (move) => new Promise((done) => {
            addEventListener("popstate", done, { once: true });
            move();
          });
          const seen = [location.href];
          await step(() => history.back());
          seen.push(location.href);
          await step(() => history.forward());
          seen.push(location.href);
          return seen;
        })()"""
    )


async def dialog_text(page: Page) -> str:
    return await page.wait_for(f"{DIALOG} && {DIALOG}.querySelector('button.keep') && {DIALOG}.innerText")


async def described(gql, key: str) -> str:
    viewer = (await gql.data(WHO_AM_I, {}, key=key))["viewer"]
    return f"{viewer['tenant']['name']} (tenant {viewer['tenant']['tenantId']}) · {viewer['role'].lower()}"


async def test_a_key_link_followed_in_an_open_tab_is_taken_off_the_address_and_the_history(runtime, page, gql, api_a):
    await ingest_many(gql, api_a.operator, ["K-0001"])

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        await follow(page, f"#key={api_a.viewer}")
        await page.wait_for("!location.hash")
        addresses = await back_and_forth(page)
        await painted(page, "table")
        asked = await page.evaluate(f"!!{DIALOG}")
        rows = await page.evaluate(ROW_IDS)

    assert all(api_a.viewer not in address and "#" not in address for address in addresses), addresses
    assert addresses[0].endswith("/console?view=exceptions") and not asked and rows == ["K-0001"]


async def test_another_key_in_a_link_followed_in_an_open_tab_is_switched_to_only_when_the_reader_says_so(
    runtime, page, gql, api_a, api_b
):
    await ingest_many(gql, api_a.operator, ["A-0001"])
    await ingest_many(gql, api_b.operator, ["B-0001"])
    tenant_a, tenant_b = await described(gql, api_a.viewer), await described(gql, api_b.operator)

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        await follow(page, f"#key={api_b.operator}")
        asked = await dialog_text(page)
        addresses = await back_and_forth(page)
        await painted(page, "table")
        await page.click("dialog#switch-key button.keep")
        await page.wait_for(f"!{DIALOG}")
        kept = (await page.evaluate(STORED_KEY), await page.evaluate(ROW_IDS))

        await follow(page, f"#key={api_b.operator}")
        await dialog_text(page)
        await page.click("dialog#switch-key button.switch")
        await painted(page, "table")
        await page.wait_for(f"{ROW_IDS}.includes('B-0001')")
        switched = (await page.evaluate(STORED_KEY), await page.evaluate(ROW_IDS))
        header = await page.evaluate("document.getElementById('who').innerText")

    assert "Switch to another API key?" in asked and tenant_a in asked and tenant_b in asked
    assert all(api_b.operator not in address and "#" not in address for address in addresses), addresses
    assert kept == (api_a.viewer, ["A-0001"])
    assert switched == (api_b.operator, ["B-0001"]) and "operator" in header


async def test_a_full_load_with_another_key_shows_the_current_tenant_and_asks_before_switching(
    runtime, page, gql, api_a, api_b, tmp_path_factory
):
    await ingest_many(gql, api_a.operator, ["A-0001"])
    await ingest_many(gql, api_b.operator, ["B-0001"])
    tenant_b = await described(gql, api_b.viewer)

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        await page.goto(f"{base}/console?view=exceptions&order=OLDEST#key={api_b.viewer}")
        await painted(page, "table")
        asked = await dialog_text(page)
        shot = await screenshot(
            page, tmp_path_factory.mktemp("console-switch") / "switch-key.png", await page.evaluate("innerWidth")
        )
        address = await page.evaluate("location.href")
        behind = (await page.evaluate(STORED_KEY), await page.evaluate(ROW_IDS))
        await page.send("Input.dispatchKeyEvent", type="keyDown", key="Escape", code="Escape", windowsVirtualKeyCode=27)
        await page.wait_for(f"!{DIALOG}")
        kept = await page.evaluate(STORED_KEY)

        await page.goto(f"{base}/console?view=exceptions#key={api_b.viewer}")
        await dialog_text(page)
        await page.click("dialog#switch-key button.switch")
        await page.wait_for(f"{ROW_IDS}.includes('B-0001')")
        switched = await page.evaluate(STORED_KEY)

    print(f"\nswitch dialog screenshot: {shot}")
    assert tenant_b in asked and "#" not in address and api_b.viewer not in address
    assert behind == (api_a.viewer, ["A-0001"]) and kept == api_a.viewer
    assert switched == api_b.viewer


async def test_a_link_with_a_refused_key_says_so_and_keeps_the_tab_signed_in(runtime, page, gql, api_a):
    await ingest_many(gql, api_a.operator, ["A-0001"])

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        await follow(page, "#key=sk_not_a_key")
        said = await dialog_text(page)
        choices = await page.evaluate(f"[...{DIALOG}.querySelectorAll('button')].map(b => b.innerText)")
        await page.click("dialog#switch-key button.keep")
        kept = (await page.evaluate(STORED_KEY), await page.evaluate("location.href"))

    assert "not accepted" in said and choices == ["Keep current"]
    assert kept[0] == api_a.viewer and "sk_not_a_key" not in kept[1]
