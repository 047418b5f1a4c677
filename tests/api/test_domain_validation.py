"""Ingestion checks an exception's domain and type against the packs in force: the tenant's
latest policy pack (`domains`) and the domain's latest domain pack (`exceptionTypes`). A pack
that declares nothing restricts nothing."""

from __future__ import annotations

import pytest

from tests.api import documents as doc
from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio


async def publish_domain(gql, domain: str, pack: dict) -> None:
    published = await gql.data(doc.PUBLISH_DOMAIN, {"input": {"domain": domain, "pack": pack}}, key=gql.admin_token)
    assert published["publishDomainPack"]["__typename"] == "PublishDomainPackSuccess"


async def publish_policy(gql, key: str, pack: dict) -> None:
    published = await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": pack}}, key=key)
    assert published["publishPolicyPack"]["__typename"] == "PublishPolicyPackSuccess"


@pytest.fixture
def finance(api_a) -> str:
    """A domain of this test's own: domain packs are global."""
    return f"Finance-{api_a.tenant_id}"


async def test_a_type_the_domain_pack_does_not_declare_is_refused_naming_the_field(gql, api_a, finance, platform_rows):
    await publish_domain(gql, finance, {"exceptionTypes": ["SettlementFailure", "BreakInReconciliation"]})

    refused = await ingest(gql, api_a.operator, "EXC-DV-1", domain=finance, type="ClaimDenied")
    accepted = await ingest(gql, api_a.operator, "EXC-DV-2", domain=finance, type="SettlementFailure")

    assert refused["__typename"] == "ValidationFailed" and refused["field"] == "type"
    assert "ClaimDenied" in refused["message"] and "SettlementFailure" in refused["message"]
    assert accepted["outcome"] == "CREATED" and accepted["exception"]["domainPackVersion"] == 1


async def test_the_latest_domain_pack_decides(gql, api_a, finance, platform_rows):
    await publish_domain(gql, finance, {"exceptionTypes": ["SettlementFailure"]})
    await publish_domain(gql, finance, {"exceptionTypes": ["SettlementFailure", "MarginCall"]})

    accepted = await ingest(gql, api_a.operator, "EXC-DV-3", domain=finance, type="MarginCall")

    assert accepted["outcome"] == "CREATED" and accepted["exception"]["domainPackVersion"] == 2


async def test_a_domain_pack_without_types_and_a_domain_without_a_pack_restrict_nothing(
    gql, api_a, finance, platform_rows
):
    await publish_domain(gql, finance, {"slaHours": {"CRITICAL": 4}})

    typed_freely = await ingest(gql, api_a.operator, "EXC-DV-4", domain=finance, type="Anything")
    unpacked = await ingest(gql, api_a.operator, "EXC-DV-5", domain=f"NoPack-{api_a.tenant_id}", type="Anything")

    assert typed_freely["outcome"] == "CREATED" and unpacked["outcome"] == "CREATED"


async def test_a_domain_outside_the_tenants_policy_pack_is_refused(gql, api_a, api_b, finance):
    await publish_policy(gql, api_a.admin, {"domains": [finance]})

    refused = await ingest(gql, api_a.operator, "EXC-DV-6", domain="Nope")
    elsewhere = await ingest(gql, api_b.operator, "EXC-DV-6", domain="Nope")

    assert refused["__typename"] == "ValidationFailed" and refused["field"] == "domain"
    assert "'Nope'" in refused["message"] and finance in refused["message"]
    assert elsewhere["outcome"] == "CREATED", "another tenant's policy pack restricts nothing here"


async def test_a_policy_pack_whose_domains_are_not_a_list_of_names_is_refused(gql, api_a):
    refused = await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"domains": "Finance"}}}, key=api_a.admin)

    assert refused["publishPolicyPack"]["__typename"] == "ValidationFailed"
    assert refused["publishPolicyPack"]["field"].startswith("pack.domains")


async def test_a_replay_of_an_exception_accepted_under_an_earlier_pack_stays_idempotent(
    gql, api_a, finance, platform_rows
):
    created = await ingest(gql, api_a.operator, "EXC-DV-7", domain=finance, type="Legacy")
    await publish_domain(gql, finance, {"exceptionTypes": ["SettlementFailure"]})

    replayed = await ingest(gql, api_a.operator, "EXC-DV-7", domain=finance, type="Legacy")
    retyped = await ingest(gql, api_a.operator, "EXC-DV-7", domain=finance, type="AlsoUnknown")

    assert created["outcome"] == "CREATED" and replayed["outcome"] == "UNCHANGED"
    assert retyped["__typename"] == "ValidationFailed" and retyped["field"] == "type"
