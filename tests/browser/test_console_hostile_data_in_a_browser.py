"""Data written to look wrong: strings thousands of characters long without a break never make a
page wider than the window, and bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE) neither
disguise an identifier nor reorder the text around a string."""

from __future__ import annotations

import pytest

from tests.api import documents as doc
from tests.api.helpers import ingest, propose, record
from tests.browser.cdp import Page
from tests.browser.test_console_in_a_browser import console, open_view, painted, screenshot

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

RLO = "\u202e"
SHOWN_RLO = "⟨U+202E⟩"
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# Every text node on the page that still holds a bidi control, and whether a <bdi> isolates it.
RAW_CONTROLS = r"""(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!/[\u202a-\u202e\u2066-\u2069]/.test(node.data)) continue;
    const bdi = node.parentElement.closest("bdi");
    found.push({ text: node.data, isolated: !!bdi && getComputedStyle(bdi).unicodeBidi === "isolate" });
  }
  return found;
})()"""


async def at_width(page: Page, width: int, height: int) -> None:
    await page.send(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 500
    )


async def test_strings_thousands_of_characters_long_never_make_a_view_wider_than_the_window(
    runtime, page, gql, api_a, tmp_path_factory
):
    unbroken = "W" * 3000
    await ingest(
        gql,
        api_a.operator,
        "LONG-" + "1" * 95,
        summary=unbroken,
        entity="E" * 200,
        type="T" * 100,
        sourceSystem="S" * 100,
        attributes={"K" * 300: unbroken, "nested": {"deep": ["x" * 2000, {"y" * 200: "z" * 2000}]}},
    )
    exception_id = "LONG-" + "1" * 95
    await gql.data(doc.CHANGE, {"assign": {"exceptionId": exception_id, "owner": "O" * 200}}, key=api_a.operator)
    await record(gql, api_a.agent, exception_id, "CommentAdded", {"text": unbroken, "N" * 200: unbroken})
    await propose(gql, api_a.agent, exception_id, rootCause=unbroken, actionType="A" * 100)
    folder = tmp_path_factory.mktemp("console-long-strings")
    overflows, shots = {}, []

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.operator, "exceptions")
        for width, height in ((1280, 900), (390, 844)):
            await at_width(page, width, height)
            for view, query in (("exceptions", ""), ("exception", f"&id={exception_id}"), ("supervisor", "")):
                await page.goto(f"{base}/console?view={view}{query}")
                await painted(page, {"exceptions": "table", "exception": "detail"}.get(view, view))
                overflows[f"{view} at {width} px"] = await page.evaluate(OVERFLOW)
                shots.append(await screenshot(page, folder / f"long-{view}-{width}.png", width))
        await page.send("Emulation.clearDeviceMetricsOverride")

    print("\nlong-string screenshots:\n  " + "\n  ".join(str(p) for p in shots))
    assert {name: px for name, px in overflows.items() if px > 0} == {}


async def test_a_right_to_left_override_in_data_is_shown_and_reorders_nothing_around_it(
    runtime, page, gql, api_a, tmp_path_factory
):
    await ingest(
        gql,
        api_a.operator,
        "BIDI-1",
        entity=f"{RLO}ytitne",
        summary=f"{RLO}yrammus",
        attributes={f"{RLO}yek": f"{RLO}eulav"},
    )
    await gql.data(doc.CHANGE, {"assign": {"exceptionId": "BIDI-1", "owner": f"{RLO}eve"}}, key=api_a.operator)
    await record(gql, api_a.agent, "BIDI-1", "CommentAdded", {"text": f"{RLO}txet"})
    plan = (await propose(gql, api_a.agent, "BIDI-1"))["plan"]["planId"]
    note = {"input": {"planId": plan, "note": f"{RLO}eton"}}
    assert (await gql.data(doc.APPROVE, note, key=api_a.operator))["approveRemediationPlan"]["plan"]

    async with console(runtime, page) as base:
        await at_width(page, 1280, 900)
        await open_view(page, base, api_a.viewer, "exceptions")
        in_table = await page.evaluate(
            "document.querySelector('tr[data-id=\"BIDI-1\"] td[data-label=Entity]').innerText"
        )
        table_controls = await page.evaluate(RAW_CONTROLS)
        await open_view(page, base, api_a.viewer, "exception", "&id=BIDI-1")
        await page.wait_for("document.querySelector('.timeline').innerText.includes('txet')")
        changes = await page.evaluate("document.querySelector('.changes').innerText")
        facts = await page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('.facts dt')]"
            ".map(dt => [dt.innerText, dt.nextElementSibling.innerText]))"
        )
        detail_controls = await page.evaluate(RAW_CONTROLS)
        # “note”: with the override isolated, the closing quote stays to the right of the note.
        quotes = await page.evaluate(
            """(p => {
              const range = document.createRange();
              range.selectNode(p.lastChild);
              const note = p.querySelector("bdi").getBoundingClientRect();
              return { note: note.right, closing: range.getBoundingClientRect().left };
            })(document.querySelector(".plan .note"))"""
        )
        shot = await screenshot(page, tmp_path_factory.mktemp("console-bidi") / "bidi-exception-1280.png", 1280)
        await page.send("Emulation.clearDeviceMetricsOverride")

    print(f"\nbidi screenshot: {shot}")
    assert in_table == f"{SHOWN_RLO}ytitne"
    assert changes == f"Changed: owner → {SHOWN_RLO}eve"
    assert facts["Entity"] == f"{SHOWN_RLO}ytitne" and facts["Owner"] == f"{SHOWN_RLO}eve"
    assert facts[f"{SHOWN_RLO}yek"] == f"{RLO}eulav"  # free text keeps its control, isolated
    assert table_controls == []  # the table shows identifiers only
    assert detail_controls and all(found["isolated"] for found in detail_controls), detail_controls
    assert quotes["closing"] >= quotes["note"] - 0.5, quotes
