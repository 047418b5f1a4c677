"""SLA deadlines from packs: an exception whose source sends no `slaDeadline` is due at its creation
time plus its severity's hours in the tenant's policy pack (`sla.hours`), else in its domain's pack
(`slaHours`); a severity change recomputes a derived deadline, never one the source sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api import documents as doc
from tests.api.helpers import event_item, exception_input, record

pytestmark = pytest.mark.asyncio

SENT = "2030-01-01T00:00:00+00:00"
SLA = """query($id: String!) { exception(exceptionId: $id) {
  severity createdAt slaDeadline slaSource slaPackVersion sla { state } } }"""
BREACHES = "{ slaBreaches(first: 50) { nodes { exceptionId sla { state } } } }"


@pytest.fixture
def domain(api_a, platform_rows) -> str:
    """A domain of this test's own: domain packs are global."""
    return f"Finance-{api_a.tenant_id}"


async def _publish_domain(gql, domain: str, pack: dict) -> dict:
    answer = await gql.data(doc.PUBLISH_DOMAIN, {"input": {"domain": domain, "pack": pack}}, key=gql.admin_token)
    return answer["publishDomainPack"]


async def _publish_policy(gql, key: str, pack: dict) -> dict:
    return (await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": pack}}, key=key))["publishPolicyPack"]


async def _ingest(gql, key: str, exception_id: str, domain: str, **overrides) -> dict:
    fields = exception_input(exception_id, domain=domain, slaDeadline=None) | overrides
    answer = (await gql.data(doc.INGEST, {"input": fields}, key=key))["ingestException"]
    assert answer["__typename"] == "IngestExceptionSuccess", answer
    return answer


async def _sla(gql, key: str, exception_id: str) -> dict:
    return (await gql.data(SLA, {"id": exception_id}, key=key))["exception"]


def _due_after(exception: dict) -> timedelta | None:
    if exception["slaDeadline"] is None:
        return None
    return datetime.fromisoformat(exception["slaDeadline"]) - datetime.fromisoformat(exception["createdAt"])


async def _triage(gql, key: str, exception_id: str, severity: str) -> None:
    answer = await record(gql, key, exception_id, "TriageCompleted", {"severity": severity}, {"severity": severity})
    assert answer["__typename"] == "ExceptionEventRecorded", answer


async def test_a_deadline_is_derived_from_the_domain_packs_hours(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    await _ingest(gql, api_a.operator, "D-1", domain)
    exception = await _sla(gql, api_a.viewer, "D-1")
    assert _due_after(exception) == timedelta(hours=24)
    assert (exception["slaSource"], exception["slaPackVersion"], exception["sla"]["state"]) == (
        "DOMAIN_PACK",
        1,
        "ON_TRACK",
    )


async def test_the_tenants_policy_pack_hours_override_the_domain_packs(gql, api_a, api_b, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    await _publish_policy(gql, api_a.admin, {"sla": {"hours": {"HIGH": 8}}})
    await _publish_policy(gql, api_a.admin, {"sla": {"hours": {"HIGH": 2.5}}})
    await _ingest(gql, api_a.operator, "P-1", domain)
    await _ingest(gql, api_a.operator, "P-2", domain, severity="CRITICAL")
    await _ingest(gql, api_b.operator, "P-1", domain)
    ours, critical, theirs = [await _sla(gql, k, i) for k, i in ((api_a.viewer, "P-1"), (api_a.viewer, "P-2"))] + [
        await _sla(gql, api_b.viewer, "P-1")
    ]
    assert (_due_after(ours), ours["slaSource"], ours["slaPackVersion"]) == (timedelta(hours=2.5), "POLICY_PACK", 2)
    assert (_due_after(critical), critical["slaSource"]) == (timedelta(hours=4), "DOMAIN_PACK")
    assert (_due_after(theirs), theirs["slaSource"]) == (timedelta(hours=24), "DOMAIN_PACK")


async def test_a_deadline_the_source_sent_is_kept(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"HIGH": 24}})
    await _ingest(gql, api_a.operator, "S-1", domain, slaDeadline=SENT)
    exception = await _sla(gql, api_a.viewer, "S-1")
    assert (exception["slaDeadline"], exception["slaSource"], exception["slaPackVersion"]) == (SENT, "SOURCE", None)


async def test_a_severity_change_recomputes_a_derived_deadline(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    await _ingest(gql, api_a.operator, "R-1", domain)
    await _triage(gql, api_a.agent, "R-1", "CRITICAL")
    critical = await _sla(gql, api_a.viewer, "R-1")
    await _triage(gql, api_a.agent, "R-1", "LOW")
    low = await _sla(gql, api_a.viewer, "R-1")
    await _triage(gql, api_a.agent, "R-1", "HIGH")
    high = await _sla(gql, api_a.viewer, "R-1")
    assert (_due_after(critical), critical["slaSource"]) == (timedelta(hours=4), "DOMAIN_PACK")
    assert (low["slaDeadline"], low["slaSource"], low["sla"]["state"]) == (None, None, "NONE")
    assert (_due_after(high), high["slaSource"]) == (timedelta(hours=24), "DOMAIN_PACK")


async def test_a_severity_change_never_recomputes_a_deadline_the_source_sent(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    await _ingest(gql, api_a.operator, "R-2", domain, slaDeadline=SENT)
    await _triage(gql, api_a.agent, "R-2", "CRITICAL")
    exception = await _sla(gql, api_a.viewer, "R-2")
    assert (exception["severity"], exception["slaDeadline"], exception["slaSource"]) == ("CRITICAL", SENT, "SOURCE")


async def test_a_batch_of_events_recomputes_like_single_events(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    await _ingest(gql, api_a.operator, "R-3", domain)
    await _ingest(gql, api_a.operator, "R-4", domain, slaDeadline=SENT)
    items = [
        event_item(i, "TriageCompleted", {"severity": s}, {"severity": s})
        for i, s in (("R-3", "LOW"), ("R-3", "CRITICAL"), ("R-4", "CRITICAL"))
    ]
    answer = await gql.data(doc.RECORD_MANY, {"input": {"items": items}}, key=api_a.agent)
    assert {r["__typename"] for r in answer["recordExceptionEvents"]["results"]} == {"ExceptionEventRecorded"}
    derived, sent = await _sla(gql, api_a.viewer, "R-3"), await _sla(gql, api_a.viewer, "R-4")
    assert (_due_after(derived), derived["slaSource"]) == (timedelta(hours=4), "DOMAIN_PACK")
    assert (sent["slaDeadline"], sent["slaSource"]) == (SENT, "SOURCE")


async def test_re_ingestion_keeps_a_derived_deadline_until_the_source_sends_one(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"HIGH": 24}})
    await _ingest(gql, api_a.operator, "I-1", domain)
    again = await _ingest(gql, api_a.operator, "I-1", domain)
    sent = await _ingest(gql, api_a.operator, "I-1", domain, slaDeadline=SENT)
    dropped = await _ingest(gql, api_a.operator, "I-1", domain)
    assert (again["outcome"], sent["outcome"], sent["changedFields"]) == ("UNCHANGED", "UPDATED", ["slaDeadline"])
    assert (dropped["outcome"], dropped["changedFields"]) == ("UPDATED", ["slaDeadline"])
    exception = await _sla(gql, api_a.viewer, "I-1")
    assert (_due_after(exception), exception["slaSource"]) == (timedelta(hours=24), "DOMAIN_PACK")


async def test_a_re_ingestion_into_another_domain_takes_that_domains_hours(gql, api_a, domain):
    other = f"{domain}-Other"
    await _publish_domain(gql, domain, {"slaHours": {"HIGH": 24}})
    await _publish_domain(gql, other, {"slaHours": {"HIGH": 12}})
    await _ingest(gql, api_a.operator, "I-2", domain)
    await _ingest(gql, api_a.operator, "I-3", domain, slaDeadline=SENT)
    await _ingest(gql, api_a.operator, "I-2", other)
    await _ingest(gql, api_a.operator, "I-3", other, slaDeadline=SENT)
    moved, sent = await _sla(gql, api_a.viewer, "I-2"), await _sla(gql, api_a.viewer, "I-3")
    assert (_due_after(moved), moved["slaSource"]) == (timedelta(hours=12), "DOMAIN_PACK")
    assert (sent["slaDeadline"], sent["slaSource"]) == (SENT, "SOURCE")


async def test_a_batch_ingestion_derives_deadlines_like_single_ingestions(gql, api_a, domain):
    await _publish_domain(gql, domain, {"slaHours": {"CRITICAL": 4, "HIGH": 24}})
    items = [
        exception_input("B-1", domain=domain, slaDeadline=None),
        exception_input("B-2", domain=domain, slaDeadline=None, severity="CRITICAL"),
        exception_input("B-3", domain=domain, slaDeadline=SENT),
    ]
    answer = await gql.data(doc.INGEST_MANY, {"input": {"items": items}}, key=api_a.operator)
    assert {r["__typename"] for r in answer["ingestExceptions"]["results"]} == {"IngestExceptionSuccess"}
    high, critical, sent = [await _sla(gql, api_a.viewer, i) for i in ("B-1", "B-2", "B-3")]
    assert [_due_after(high), _due_after(critical)] == [timedelta(hours=24), timedelta(hours=4)]
    assert [e["slaSource"] for e in (high, critical, sent)] == ["DOMAIN_PACK", "DOMAIN_PACK", "SOURCE"]


async def test_a_derived_deadline_appears_in_sla_breaches_once_past(gql, api_a, domain, clock):
    await _publish_domain(gql, domain, {"slaHours": {"HIGH": 24}})
    await _ingest(gql, api_a.operator, "L-1", domain)
    created = datetime.fromisoformat((await _sla(gql, api_a.viewer, "L-1"))["createdAt"])
    clock.frozen = created + timedelta(hours=1)
    before = (await gql.data(BREACHES, key=api_a.viewer))["slaBreaches"]["nodes"]
    clock.frozen = created + timedelta(hours=24, seconds=1)
    after = (await gql.data(BREACHES, key=api_a.viewer))["slaBreaches"]["nodes"]
    assert "L-1" not in [n["exceptionId"] for n in before]
    assert {"exceptionId": "L-1", "sla": {"state": "BREACHED"}} in after


@pytest.mark.parametrize(
    "hours, field",
    [
        ({"URGENT": 4}, ".URGENT"),
        ({"HIGH": 0}, ".HIGH"),
        ({"HIGH": -1}, ".HIGH"),
        ({"HIGH": "24"}, ".HIGH"),
        ({"HIGH": True}, ".HIGH"),
        ({"HIGH": 24 * 366 * 10 + 1}, ".HIGH"),
        (24, ""),
    ],
)
async def test_bad_sla_hours_are_refused_at_publication_naming_the_path(gql, api_a, domain, hours, field):
    domain_answer = await _publish_domain(gql, domain, {"slaHours": hours})
    policy_answer = await _publish_policy(gql, api_a.admin, {"sla": {"hours": hours}})
    assert (domain_answer["__typename"], domain_answer["field"]) == ("ValidationFailed", f"pack.slaHours{field}")
    assert (policy_answer["__typename"], policy_answer["field"]) == ("ValidationFailed", f"pack.sla.hours{field}")
