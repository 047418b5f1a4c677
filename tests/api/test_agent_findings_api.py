"""Agents' findings: `ContextEnriched` fills `enrichedContext`, `RootCauseHypothesized` sets
`rcaHypothesis`, through the one intake of events, single or in a batch, and both stay on the
timeline and in the Co-Pilot's context."""

import json
import re
from pathlib import Path

import pytest

from tests.api import documents as doc
from tests.api.helpers import event_item, ingest, record

pytestmark = pytest.mark.asyncio

COPILOT_DOC = Path(__file__).resolve().parents[2] / "docs" / "copilot.md"
FEED = "{ changes(first: 100) { nodes { source event { eventType exceptionId } } } }"
FINDINGS = """query($id: String!) { exception(exceptionId: $id) {
  enrichedContext rcaHypothesis events(first: 20) { nodes { eventType payload } } } }"""


async def _findings(gql, key, exception_id):
    return (await gql.data(FINDINGS, {"id": exception_id}, key=key))["exception"]


async def test_context_enriched_merges_its_context_key_by_key_and_is_on_the_timeline(gql, api_a):
    await ingest(gql, api_a.operator, "F-1")
    await record(gql, api_a.agent, "F-1", "ContextEnriched", {"context": {"ssi": "stale", "desk": "EMEA"}})
    recorded = await record(gql, api_a.agent, "F-1", "ContextEnriched", {"context": {"ssi": "fixed", "n": 2}})
    assert recorded["__typename"] == "ExceptionEventRecorded"
    found = await _findings(gql, api_a.viewer, "F-1")
    assert found["enrichedContext"] == {"n": 2, "ssi": "fixed", "desk": "EMEA"}
    enrichments = [e["payload"] for e in found["events"]["nodes"] if e["eventType"] == "ContextEnriched"]
    assert enrichments == [{"context": {"ssi": "stale", "desk": "EMEA"}}, {"context": {"ssi": "fixed", "n": 2}}]


async def test_root_cause_hypothesized_sets_the_hypothesis_and_is_on_the_timeline(gql, api_a):
    await ingest(gql, api_a.operator, "F-2")
    payload = {"hypothesis": "Counterparty SSI changed", "confidence": 0.7, "evidence": ["SWIFT MT548"]}
    await record(gql, api_a.agent, "F-2", "RootCauseHypothesized", payload)
    found = await _findings(gql, api_a.viewer, "F-2")
    assert found["rcaHypothesis"] == "Counterparty SSI changed"
    assert [e["payload"] for e in found["events"]["nodes"] if e["eventType"] == "RootCauseHypothesized"] == [payload]


async def test_a_batch_applies_findings_in_order_like_single_events(gql, api_a):
    await ingest(gql, api_a.operator, "F-3")
    items = [
        event_item("F-3", "ContextEnriched", {"context": {"a": 1}}),
        event_item("F-3", "RootCauseHypothesized", {"hypothesis": "first"}),
        event_item("F-3", "ContextEnriched", {"context": {"b": 2}}),
        event_item("F-3", "RootCauseHypothesized", {"hypothesis": "second"}),
    ]
    answer = await gql.data(doc.RECORD_MANY, {"input": {"items": items}}, key=api_a.agent)
    results = answer["recordExceptionEvents"]["results"]
    assert [r["__typename"] for r in results] == ["ExceptionEventRecorded"] * 4
    found = await _findings(gql, api_a.viewer, "F-3")
    assert (found["enrichedContext"], found["rcaHypothesis"]) == ({"a": 1, "b": 2}, "second")


async def test_findings_are_in_the_change_feed_like_every_event(gql, api_a):
    await ingest(gql, api_a.operator, "F-7")
    await record(gql, api_a.agent, "F-7", "ContextEnriched", {"context": {"a": 1}})
    await record(gql, api_a.agent, "F-7", "RootCauseHypothesized", {"hypothesis": "h"})
    nodes = (await gql.data(FEED, key=api_a.viewer))["changes"]["nodes"]
    assert [n["event"] for n in nodes if n["source"] == "EXCEPTION_EVENT"][-2:] == [
        {"eventType": "ContextEnriched", "exceptionId": "F-7"},
        {"eventType": "RootCauseHypothesized", "exceptionId": "F-7"},
    ]


async def test_findings_stay_within_the_tenant(gql, api_a, api_b):
    await ingest(gql, api_a.operator, "F-4")
    await ingest(gql, api_b.operator, "F-4")
    await record(gql, api_a.agent, "F-4", "RootCauseHypothesized", {"hypothesis": "ours"})
    assert (await _findings(gql, api_b.viewer, "F-4"))["rcaHypothesis"] is None


@pytest.mark.parametrize(
    "event_type, payload, field",
    [
        ("ContextEnriched", {}, "payload.context"),
        ("ContextEnriched", {"context": [1, 2]}, "payload.context"),
        ("ContextEnriched", {"context": "text"}, "payload.context"),
        ("RootCauseHypothesized", {}, "payload.hypothesis"),
        ("RootCauseHypothesized", {"hypothesis": "  "}, "payload.hypothesis"),
        ("RootCauseHypothesized", {"hypothesis": "h", "confidence": 1.5}, "payload.confidence"),
        ("RootCauseHypothesized", {"hypothesis": "h", "confidence": -0.1}, "payload.confidence"),
        ("RootCauseHypothesized", {"hypothesis": "h", "confidence": "high"}, "payload.confidence"),
        ("RootCauseHypothesized", {"hypothesis": "h", "evidence": "a log line"}, "payload.evidence"),
    ],
)
async def test_an_invalid_finding_names_its_payload_field_and_changes_nothing(gql, api_a, event_type, payload, field):
    await ingest(gql, api_a.operator, "F-5")
    refused = await record(gql, api_a.agent, "F-5", event_type, payload)
    assert (refused["__typename"], refused["field"]) == ("ValidationFailed", field)
    found = await _findings(gql, api_a.viewer, "F-5")
    assert (found["enrichedContext"], found["rcaHypothesis"]) == ({}, None)
    assert [e["eventType"] for e in found["events"]["nodes"]] == ["ExceptionCreated"]


async def test_a_context_that_would_outgrow_the_json_bound_is_refused(gql, api_a):
    await ingest(gql, api_a.operator, "F-6")
    for n in range(2):
        answer = await record(gql, api_a.agent, "F-6", "ContextEnriched", {"context": {f"k{n}": "x" * 40_000}})
    assert (answer["__typename"], answer["field"]) == ("ValidationFailed", "payload.context")
    assert list((await _findings(gql, api_a.viewer, "F-6"))["enrichedContext"]) == ["k0"]


async def test_the_copilot_context_shows_the_findings(gql, api_a):
    text = COPILOT_DOC.read_text()
    query = re.search(r"```graphql\n(.*?)```", text, re.S).group(1)
    variables = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    target = variables["exceptionId"]
    await ingest(gql, api_a.operator, target)
    await record(gql, api_a.agent, target, "ContextEnriched", {"context": {"ssi": "stale"}})
    await record(gql, api_a.agent, target, "RootCauseHypothesized", {"hypothesis": "SSI changed"})
    context = (await gql.data(query, variables, key=api_a.viewer))["exception"]
    assert (context["enrichedContext"], context["rcaHypothesis"]) == ({"ssi": "stale"}, "SSI changed")
    assert [e["eventType"] for e in context["events"]["nodes"]][-2:] == ["ContextEnriched", "RootCauseHypothesized"]
