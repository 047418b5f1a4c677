"""The Operations Center console in a real browser, against a real server with live subscriptions.

Each test makes its own tenants (`api_a`, `api_b`), so what a page shows is exactly what the test
wrote. Screenshots of the three views at 1280 and 390 px go to pytest's temporary directory.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.api import documents as doc
from tests.api.helpers import create_playbook, exception_input, ingest, propose, record
from tests.browser.cdp import Page
from tests.servers import serving

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

EXAMPLE = "STL-2026-00020"  # the README's example exception
ROW_IDS = "[...document.querySelectorAll('table.exceptions tr[data-id]')].map(r => r.dataset.id)"
STATS = """
query Stats($filter: ExceptionFilter) {
  total: exceptionStats(filter: $filter) { count openCount slaAtRiskCount slaBreachedCount }
  matrix: exceptionStats(filter: $filter, groupBy: [SEVERITY, STATUS]) { key { severity status } count }
}"""


@asynccontextmanager
async def console(runtime, page: Page, **settings) -> AsyncIterator[str]:
    """The API and its console on a real port, WebSockets included; yields the base URL."""
    from tests.api.helpers import api_app

    app = api_app(runtime, **settings)
    try:
        async with serving(app, websockets=True) as base:
            try:
                yield base
            finally:
                await page.send("Page.navigate", url="about:blank")  # closes the page's socket first
                await asyncio.sleep(0.2)
    finally:
        await app.state.runtime.notifier.stop()


async def open_view(page: Page, base: str, key: str, view: str, query: str = "") -> None:
    """Loads the console with the key in the fragment (the scripted sign-in) and waits for the view."""
    await page.goto(f"{base}/console?view={view}{query}#key={key}")
    await painted(page, {"exceptions": "table", "exception": "detail"}.get(view, view))


async def painted(page: Page, view: str, timeout: float = 15.0) -> None:
    await page.wait_for(
        f"document.body.dataset.painted === {json.dumps(view)} || document.querySelector('.error')", timeout
    )
    error = await page.evaluate("document.querySelector('.error') && document.querySelector('.error').innerText")
    assert not error, error


async def ingest_many(gql, key: str, ids: list[str], **overrides) -> None:
    for start in range(0, len(ids), 100):
        items = [exception_input(i, **overrides) for i in ids[start : start + 100]]
        data = await gql.data(doc.INGEST_MANY, {"input": {"items": items}}, key=key)
        assert all(r["__typename"] == "IngestExceptionSuccess" for r in data["ingestExceptions"]["results"])


async def example_exception(gql, tenant) -> int:
    """The README's example in the test tenant: a playbook at step 2, agents' decisions, a Co-Pilot
    question and answer, a pending plan proposed by an agent, and a similar case. Returns the plan id."""
    await ingest(gql, tenant.operator, EXAMPLE, entity="CPTY-GOLDMAN", summary="Trade 20 failed to settle")
    await ingest(gql, tenant.operator, "STL-2026-00021", entity="CPTY-GOLDMAN", summary="Trade 21 failed to settle")
    playbook = (await create_playbook(gql, tenant.admin, name="Settlement break resolution", steps=4))["playbook"]
    await gql.data(
        doc.ATTACH, {"input": {"exceptionId": EXAMPLE, "playbookId": playbook["playbookId"]}}, key=tenant.operator
    )
    await gql.data(doc.ADVANCE, {"input": {"exceptionId": EXAMPLE}}, key=tenant.operator)
    await record(
        gql,
        tenant.agent,
        EXAMPLE,
        "TriageCompleted",
        {"severity": "HIGH", "confidence": 0.92, "classification": "SSI mismatch"},
    )
    await record(
        gql,
        tenant.agent,
        EXAMPLE,
        "LLMDecisionProposed",
        {"decision": "reinstruct", "rationale": "stale SSI", "model": "m-1"},
    )
    await record(gql, tenant.operator, EXAMPLE, "CopilotQuestionAsked", {"question": "Why did it fail?"})
    await record(gql, tenant.agent, EXAMPLE, "CopilotAnswerGiven", {"answer": "The counterparty's SSI changed."})
    plan = await propose(gql, tenant.agent, EXAMPLE)
    return plan["plan"]["planId"]


async def test_signing_in_shows_the_tenants_exceptions_and_another_tenants_key_only_its_own(
    runtime, page, gql, api_a, api_b
):
    await ingest_many(gql, api_a.operator, ["A-0001", "A-0002", "A-0003"])
    await ingest_many(gql, api_b.operator, ["B-0001"])

    async with console(runtime, page) as base:
        await page.goto(f"{base}/console")
        await page.wait_for("!!document.getElementById('api-key')")
        await page.type_text("#api-key", api_a.viewer)
        await page.click("#sign-in button[type=submit]")
        await painted(page, "table")
        seen_by_a = await page.evaluate(ROW_IDS)
        header = await page.evaluate("document.querySelector('header').innerText")
        await page.click("#sign-out")
        await page.wait_for("!!document.getElementById('api-key')")
        forgotten = await page.evaluate("sessionStorage.length")

        await open_view(page, base, api_b.viewer, "exceptions")
        seen_by_b = await page.evaluate(ROW_IDS)
        address = await page.evaluate("location.href")
        kept = await page.evaluate("sessionStorage.getItem('sentinai.console.key')")
        stored = await page.evaluate("localStorage.length")

    assert sorted(seen_by_a) == ["A-0001", "A-0002", "A-0003"] and "viewer" in header
    assert forgotten == 0
    assert seen_by_b == ["B-0001"]
    assert "#" not in address and api_b.viewer not in address and kept == api_b.viewer and stored == 0


async def test_a_filter_narrows_the_table_and_survives_a_reload(runtime, page, gql, api_a):
    await ingest_many(gql, api_a.operator, [f"F-{n:04d}" for n in range(6)], severity="LOW")
    await ingest_many(gql, api_a.operator, ["F-CRIT-1", "F-CRIT-2"], severity="CRITICAL")

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        before = await page.evaluate(ROW_IDS)
        await page.evaluate(
            "(s => { s.value = 'CRITICAL'; s.dispatchEvent(new Event('change', {bubbles: true})); })"
            "(document.querySelector('select[name=severity]'))"
        )
        await page.wait_for("location.search.includes('severity=CRITICAL') && document.body.dataset.painted")
        narrowed = await page.evaluate(ROW_IDS)
        await page.goto(await page.evaluate("location.href"))
        await painted(page, "table")
        reloaded = await page.evaluate(ROW_IDS)
        chosen = await page.evaluate("document.querySelector('select[name=severity]').value")

    assert len(before) == 8
    assert sorted(narrowed) == ["F-CRIT-1", "F-CRIT-2"] and sorted(reloaded) == sorted(narrowed)
    assert chosen == "CRITICAL"


async def test_paging_forward_and_back_is_stable(runtime, page, gql, api_a):
    ids = [f"P-{n:04d}" for n in range(30)]
    await ingest_many(gql, api_a.operator, ids)

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions", "&order=OLDEST")
        first = await page.evaluate(ROW_IDS)
        await page.click(".pager button:last-child")
        await page.wait_for("document.querySelector('.table-status').innerText.includes('page 2')")
        second = await page.evaluate(ROW_IDS)
        await page.click(".pager button:first-child")
        await page.wait_for("document.querySelector('.table-status').innerText.includes('page 1')")
        again = await page.evaluate(ROW_IDS)
        next_disabled = await page.evaluate("document.querySelector('.pager button:last-child').disabled")

    assert len(first) == 25 and len(second) == 5 and first + second == ids
    assert again == first and not next_disabled


async def test_the_detail_view_shows_three_panels_for_the_readme_example_in_one_graphql_request(
    runtime, page, gql, api_a
):
    await example_exception(gql, api_a)

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exceptions")
        page.requests.clear()
        await page.click(f"tr[data-id='{EXAMPLE}'] a")
        await painted(page, "detail")
        await page.wait_for("document.querySelectorAll('.timeline .event').length >= 8")
        requests = [url for url in page.requests if url.endswith("/graphql")]
        panels = await page.evaluate("[...document.querySelectorAll('.detail > .panel')].map(p => p.innerText)")
        kinds = await page.evaluate("[...document.querySelectorAll('.timeline .event')].map(e => e.className)")
        actors = await page.evaluate("[...document.querySelectorAll('.timeline .group')].map(g => g.dataset.actor)")
        current = await page.evaluate("document.querySelector('.step[aria-current=step]').innerText")

    assert len(requests) == 1, requests
    attributes, timeline, right = panels
    assert "CPTY-GOLDMAN" in attributes and "SLA" in attributes and "On track" in attributes
    assert "Why did it fail?" in timeline and "The counterparty's SSI changed." in timeline
    assert {"event kind-decision", "event kind-question", "event kind-answer"} <= set(kinds)
    assert all(a != b for a, b in zip(actors, actors[1:])), "consecutive events of one actor share a group"
    assert "step 2" in current and "Settlement break resolution" in right
    assert "Plan" in right and "Pending" in right and "STL-2026-00021" in right and "Same entity" in right


async def test_an_event_and_a_new_exception_recorded_elsewhere_appear_without_a_reload(runtime, page, gql, api_a):
    await ingest(gql, api_a.operator, "LIVE-0001")

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "exception", "&id=LIVE-0001")
        await page.wait_for("document.getElementById('live-state').innerText.includes('live')")
        await asyncio.sleep(0.3)  # the subscription's first read
        sent = time.perf_counter()
        await record(gql, api_a.agent, "LIVE-0001", "CommentAdded", {"text": "recorded by another client"})
        await page.wait_for("document.querySelector('.timeline').innerText.includes('recorded by another client')", 10)
        event_latency = time.perf_counter() - sent

        await page.click("header a[data-view=exceptions]")
        await painted(page, "table")
        await asyncio.sleep(0.3)
        sent = time.perf_counter()
        await ingest(gql, api_a.operator, "LIVE-0002")
        await page.wait_for("!!document.querySelector(\"tr[data-id='LIVE-0002']\")", 10)
        row_latency = time.perf_counter() - sent
        order = await page.evaluate(ROW_IDS)

    print(f"\nlive delivery in the browser: event {event_latency * 1000:.0f} ms, new row {row_latency * 1000:.0f} ms")
    assert order == ["LIVE-0002", "LIVE-0001"]


async def test_an_operator_approves_a_pending_plan_and_a_viewer_or_agent_sees_no_decision_buttons(
    runtime, page, gql, api_a
):
    plan_id = await example_exception(gql, api_a)
    detail = f"&id={EXAMPLE}"

    async with console(runtime, page) as base:
        for key in (api_a.viewer, api_a.agent):
            await open_view(page, base, key, "exception", detail)
            assert await page.evaluate("document.querySelectorAll('.plan button').length") == 0
            assert await page.evaluate("document.querySelector('.plan').innerText.includes('Pending')")
            await page.click("#sign-out")

        await open_view(page, base, api_a.operator, "exception", detail)
        await page.type_text(f"[data-plan='{plan_id}'] input", "checked with the desk")
        await page.click(f"[data-plan='{plan_id}'] button.approve")
        shown = await page.wait_for(
            f"(t => t.includes('Approved') && t)(document.querySelector(\"[data-plan='{plan_id}']\").innerText)"
        )
        buttons_left = await page.evaluate("document.querySelectorAll('.plan button').length")

    stored = await gql.data(doc.DETAIL, {"id": EXAMPLE}, key=api_a.viewer)
    assert "checked with the desk" in shown and buttons_left == 0
    assert stored["exception"]["remediationPlans"] == [{"planId": plan_id, "status": "APPROVED"}]


async def test_the_supervisor_numbers_equal_exception_stats_for_the_same_filter(runtime, page, gql, api_a):
    await ingest_many(gql, api_a.operator, [f"S-H-{n}" for n in range(3)], severity="HIGH")
    await ingest_many(
        gql, api_a.operator, [f"S-L-{n}" for n in range(2)], severity="LOW", slaDeadline="2020-01-01T00:00:00Z"
    )
    await ingest_many(gql, api_a.operator, ["S-OTHER"], type="CashBreak", severity="CRITICAL")
    for n in range(2):
        transition = {"exceptionId": f"S-H-{n}", "status": "RESOLVED"}
        await gql.data(doc.TRANSITION, {"input": transition}, key=api_a.operator)
    stats = await gql.data(STATS, {"filter": {"type": "SettlementFailure"}}, key=api_a.viewer)

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.viewer, "supervisor", "&type=SettlementFailure")
        cells = await page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('.matrix td[data-severity][data-status]')]"
            ".filter(td => td.dataset.severity && td.dataset.status)"
            ".map(td => [td.dataset.severity + '/' + td.dataset.status, Number(td.innerText)]))"
        )
        tiles = await page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-stat]')]"
            ".map(e => [e.dataset.stat, Number(e.innerText)]))"
        )
        await page.click(".matrix td[data-severity=HIGH][data-status=RESOLVED] a")
        await painted(page, "table")
        linked = await page.evaluate(ROW_IDS)
        address = await page.evaluate("location.search")

    expected = {f"{g['key']['severity']}/{g['key']['status']}": g["count"] for g in stats["matrix"]}
    assert {k: v for k, v in cells.items() if v} == expected
    total = stats["total"][0]
    assert tiles == {
        "exceptions": total["count"],
        "open": total["openCount"],
        "SLA at risk": total["slaAtRiskCount"],
        "SLA breached": total["slaBreachedCount"],
    }
    assert total["count"] == 5 and total["slaBreachedCount"] == 2
    assert sorted(linked) == ["S-H-0", "S-H-1"] and "type=SettlementFailure" in address


async def test_screenshots_of_the_three_views_at_both_widths_and_the_first_paint(
    runtime, page, gql, api_a, tmp_path_factory
):
    await ingest_many(gql, api_a.operator, [f"STL-2026-{n:05d}" for n in range(100, 250)])
    await example_exception(gql, api_a)
    folder: Path = tmp_path_factory.mktemp("console-screenshots")
    shots = []

    async with console(runtime, page) as base:
        await open_view(page, base, api_a.operator, "exceptions")
        for width, height in ((1280, 900), (390, 844)):
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=width < 500,
            )
            for view, query in (("exceptions", ""), ("exception", f"&id={EXAMPLE}"), ("supervisor", "")):
                await page.goto(f"{base}/console?view={view}{query}")
                await painted(page, {"exceptions": "table", "exception": "detail"}.get(view, view))
                overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{view} at {width} px is {overflow} px wider than the window"
                shots.append(await screenshot(page, folder / f"console-{view}-{width}.png", width))
        await page.send("Emulation.clearDeviceMetricsOverride")
        await page.goto(f"{base}/console?view=exceptions")
        await painted(page, "table")
        paint = await page.evaluate(
            "({fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime,"
            " rows: performance.getEntriesByName('sentinai:table')[0].startTime})"
        )

    print("\nconsole screenshots:\n  " + "\n  ".join(str(p) for p in shots))
    print(f"first contentful paint {paint['fcp']:.0f} ms; first rows painted {paint['rows']:.0f} ms after navigation")
    assert all(p.stat().st_size > 5_000 for p in shots)


async def screenshot(page: Page, path: Path, width: int) -> Path:
    metrics = await page.send("Page.getLayoutMetrics")
    height = min(int(metrics["cssContentSize"]["height"]), 4000)
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
    shot = await page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
