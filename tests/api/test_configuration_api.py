"""Playbooks, tools, packs, remediation plans, tenants and keys through the API."""

import asyncpg
import pytest

from tests.api import documents as doc
from tests.api.helpers import create_playbook, ingest, propose
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio


async def _register_tool(gql, key, name="pager", **overrides):
    fields = {
        "name": name,
        "type": "WEBHOOK",
        "config": {"url": "https://hooks.example/x"},
        "secrets": {"signingKey": "s3cr3t"},
    }
    fields.update(overrides)
    return (await gql.data(doc.REGISTER_TOOL, {"input": fields}, key=key))["registerTool"]


async def test_creating_a_playbook_with_an_existing_name_makes_its_next_version(gql, api_a):
    first = (await create_playbook(gql, api_a.admin, "triage"))["playbook"]
    second = (await create_playbook(gql, api_a.admin, "triage", steps=1))["playbook"]
    assert (first["version"], second["version"]) == (1, 2)
    assert [s["stepOrder"] for s in first["steps"]] == [1, 2, 3]
    latest = await gql.data(
        '{ playbook(name: "triage") { version } v1: playbook(name: "triage", version: 1) { version } }',
        key=api_a.viewer,
    )
    assert (latest["playbook"]["version"], latest["v1"]["version"]) == (2, 1)
    listed = await gql.data('{ playbooks(name: "triage") { totalCount nodes { version } } }', key=api_a.viewer)
    assert listed["playbooks"]["totalCount"] == 2


async def test_an_invalid_step_fails_the_whole_playbook_and_writes_nothing(gql, api_a):
    steps = [{"name": "ok", "actionType": "notify"}, {"name": " ", "actionType": "notify"}]
    result = (await gql.data(doc.CREATE_PLAYBOOK, {"input": {"name": "broken", "steps": steps}}, key=api_a.admin))[
        "createPlaybook"
    ]
    assert (result["__typename"], result["field"]) == ("ValidationFailed", "steps[1].name")
    assert (await gql.data('{ playbook(name: "broken") { version } }', key=api_a.viewer))["playbook"] is None
    audit = await gql.data('{ auditLog(filter: {event: "playbook.created"}) { totalCount } }', key=api_a.viewer)
    assert audit["auditLog"]["totalCount"] == 0


async def test_a_playbook_step_may_call_a_tool_of_the_tenant_but_not_of_another(gql, api_a, api_b):
    tool_b = (await _register_tool(gql, api_b.admin))["tool"]
    refused = await create_playbook(gql, api_a.admin, tool_id=tool_b["toolId"])
    assert (refused["__typename"], refused["field"]) == ("ValidationFailed", "steps[0].toolId")
    tool_a = (await _register_tool(gql, api_a.admin))["tool"]
    made = (await create_playbook(gql, api_a.admin, tool_id=tool_a["toolId"]))["playbook"]
    assert made["steps"][0]["tool"] == {"name": "pager"}


async def test_tool_secrets_are_never_returned(gql, api_a):
    tool = (await _register_tool(gql, api_a.admin))["tool"]
    assert tool["secretKeys"] == ["signingKey"] and "s3cr3t" not in str(tool)
    listed = await gql.data(
        "{ tools(includeGlobal: false) { totalCount nodes { name config secretKeys } } }", key=api_a.viewer
    )
    assert "s3cr3t" not in str(listed) and listed["tools"]["totalCount"] == 1


async def test_a_secret_looking_config_key_is_refused_and_a_taken_name_conflicts(gql, api_a):
    leaked = await _register_tool(gql, api_a.admin, config={"apiToken": "oops"})
    assert (leaked["__typename"], leaked["field"]) == ("ValidationFailed", "config.apiToken")
    await _register_tool(gql, api_a.admin)
    assert (await _register_tool(gql, api_a.admin))["__typename"] == "Conflict"


async def test_policy_packs_version_and_read_latest_or_given(gql, api_a):
    for n in (1, 2):
        result = (await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"n": n}}}, key=api_a.admin))[
            "publishPolicyPack"
        ]
        assert result["policyPack"]["version"] == n
    data = await gql.data(
        "{ latest: policyPack { version pack } first: policyPack(version: 1) { pack } }", key=api_a.viewer
    )
    assert data == {"latest": {"version": 2, "pack": {"n": 2}}, "first": {"pack": {"n": 1}}}
    ingested = await ingest(gql, api_a.operator, "EXC-PP")
    assert ingested["exception"]["policyPackVersion"] == 2


async def test_domain_packs_are_published_by_the_platform_admin_and_read_by_tenants(gql, api_a, platform_rows):
    domain = f"Domain-{api_a.tenant_id}"
    published = (
        await gql.data(doc.PUBLISH_DOMAIN, {"input": {"domain": domain, "pack": {"rules": 1}}}, key=gql.admin_token)
    )["publishDomainPack"]
    assert published["domainPack"]["version"] == 1
    read = await gql.data(
        "query($d: String!) { domainPack(domain: $d) { version pack } }", {"d": domain}, key=api_a.viewer
    )
    assert read["domainPack"] == {"version": 1, "pack": {"rules": 1}}
    refused = await gql.data(doc.PUBLISH_DOMAIN, {"input": {"domain": domain, "pack": {}}}, key=api_a.admin)
    assert refused["publishDomainPack"]["__typename"] == "Forbidden"


async def test_a_plan_is_proposed_by_an_agent_and_decided_by_someone_else(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-R")
    plan = (await propose(gql, api_a.agent, "EXC-R"))["plan"]
    assert plan["status"] == "PENDING"
    approved = await gql.data(doc.APPROVE, {"input": {"planId": plan["planId"], "note": "ok"}}, key=api_a.operator)
    assert approved["approveRemediationPlan"]["plan"]["status"] == "APPROVED"
    again = (await gql.data(doc.REJECT, {"input": {"planId": plan["planId"]}}, key=api_a.admin))[
        "rejectRemediationPlan"
    ]
    assert again["__typename"] == "InvalidTransition"
    done = (
        await gql.data(
            doc.OUTCOME,
            {"input": {"planId": plan["planId"], "outcome": "EXECUTED", "note": "settled"}},
            key=api_a.agent,
        )
    )["recordRemediationOutcome"]
    assert done["plan"]["status"] == "EXECUTED" and done["plan"]["executedAt"]


async def test_an_agent_never_decides_and_a_proposer_never_decides_their_own_plan(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-R2")
    by_agent = (await propose(gql, api_a.agent, "EXC-R2"))["plan"]
    refused = await gql.data(doc.APPROVE, {"input": {"planId": by_agent["planId"]}}, key=api_a.agent)
    assert refused["approveRemediationPlan"]["__typename"] == "Forbidden"
    by_operator = (await propose(gql, api_a.operator, "EXC-R2"))["plan"]
    own = (await gql.data(doc.APPROVE, {"input": {"planId": by_operator["planId"]}}, key=api_a.operator))[
        "approveRemediationPlan"
    ]
    assert own["__typename"] == "Forbidden"


async def test_a_plan_needing_approval_cannot_record_an_outcome_while_pending(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-R3")
    plan = (await propose(gql, api_a.agent, "EXC-R3"))["plan"]
    early = await gql.data(doc.OUTCOME, {"input": {"planId": plan["planId"], "outcome": "EXECUTED"}}, key=api_a.agent)
    assert early["recordRemediationOutcome"]["__typename"] == "InvalidTransition"
    invalid = await propose(gql, api_a.agent, "EXC-R3", confidence=1.5)
    assert (invalid["__typename"], invalid["field"]) == ("ValidationFailed", "confidence")
    missing = await propose(gql, api_a.agent, "NO-SUCH-EXCEPTION")
    assert missing["__typename"] == "NotFound"


async def test_the_platform_admin_creates_a_tenant_whose_first_admin_key_works(gql):
    created = (
        await gql.data(doc.CREATE_TENANT, {"input": {"tenantId": "acme-new-1", "name": "Acme"}}, key=gql.admin_token)
    )["createTenant"]
    viewer = await gql.data("{ viewer { role tenant { tenantId status } } }", key=created["adminKey"])
    assert viewer["viewer"] == {"role": "ADMIN", "tenant": {"tenantId": "acme-new-1", "status": "ACTIVE"}}
    again = (
        await gql.data(doc.CREATE_TENANT, {"input": {"tenantId": "acme-new-1", "name": "Acme"}}, key=gql.admin_token)
    )["createTenant"]
    assert again["__typename"] == "Conflict"
    bad = (await gql.data(doc.CREATE_TENANT, {"input": {"tenantId": "no spaces!", "name": "x"}}, key=gql.admin_token))[
        "createTenant"
    ]
    assert (bad["__typename"], bad["field"]) == ("ValidationFailed", "tenantId")


async def test_a_suspended_tenant_is_refused_with_a_clear_error(gql, api_a):
    await gql.data(
        doc.SET_TENANT_STATUS, {"input": {"tenantId": api_a.tenant_id, "status": "SUSPENDED"}}, key=gql.admin_token
    )
    body = await gql.post("{ viewer { role } }", key=api_a.viewer, status=403)
    assert "suspended" in body["errors"][0]["message"]
    await gql.data(
        doc.SET_TENANT_STATUS, {"input": {"tenantId": api_a.tenant_id, "status": "ACTIVE"}}, key=gql.admin_token
    )
    assert (await gql.data("{ viewer { role } }", key=api_a.viewer))["viewer"]["role"] == "VIEWER"


async def test_api_keys_are_created_listed_and_revoked_by_the_tenant_admin(gql, api_a):
    made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "bot", "role": "AGENT"}}, key=api_a.admin))[
        "createApiKey"
    ]
    assert made["secret"].startswith("sk_") and made["apiKey"]["role"] == "AGENT"
    assert (await gql.data("{ viewer { role } }", key=made["secret"]))["viewer"]["role"] == "AGENT"
    listed = await gql.data("{ apiKeys { name keyPrefix } }", key=api_a.admin)
    assert "bot" in [key["name"] for key in listed["apiKeys"]] and made["secret"] not in str(listed)
    revoked = (await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin))[
        "revokeApiKey"
    ]
    assert revoked["apiKey"]["revokedAt"]
    await gql.post("{ viewer { role } }", key=made["secret"], status=401)
    again = (await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin))[
        "revokeApiKey"
    ]
    assert again["__typename"] == "NotFound"


async def test_every_configuration_change_is_in_the_audit_log_newest_first(gql, api_a):
    await create_playbook(gql, api_a.admin, "audited")
    await _register_tool(gql, api_a.admin, "audited-tool")
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {}}}, key=api_a.admin)
    log = await gql.data("{ auditLog { totalCount nodes { component event actor details } } }", key=api_a.viewer)
    events = [entry["event"] for entry in log["auditLog"]["nodes"]]
    assert events[:3] == ["policy_pack.published", "tool.registered", "playbook.created"]
    tools_only = await gql.data('{ auditLog(filter: {component: "tools"}) { totalCount } }', key=api_a.viewer)
    assert tools_only["auditLog"]["totalCount"] == 1


async def test_the_platform_admin_lists_tenants(gql, api_a, database):
    data = await gql.data("{ tenants(status: ACTIVE) { totalCount } }", key=gql.admin_token)
    owner = await asyncpg.connect(_libpq(database.owner_url))
    try:
        active = await owner.fetchval("SELECT count(*) FROM tenant WHERE status = 'active'")
    finally:
        await owner.close()
    assert data["tenants"]["totalCount"] == active  # every test makes tenants: compared with the table itself
    errors = await gql.errors("{ tenants { totalCount } }", key=api_a.admin)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_platform_admin_registers_global_tools_that_every_tenant_reads(gql, api_a, api_b, platform_rows):
    name = f"global-{api_a.tenant_id}"
    document = doc.REGISTER_TOOL.replace("registerTool", "registerGlobalTool").replace(
        "RegisterTool(", "RegisterGlobal("
    )
    made = (
        await gql.data(
            document, {"input": {"name": name, "type": "EMAIL", "secrets": {"password": "p"}}}, key=gql.admin_token
        )
    )["registerGlobalTool"]
    assert made["tool"]["isGlobal"] is True and made["tool"]["secretKeys"] == ["password"]
    for tenant in (api_a, api_b):
        listed = (await gql.data("{ tools { totalCount nodes { name isGlobal } } }", key=tenant.viewer))["tools"]
        assert listed == {"totalCount": 1, "nodes": [{"name": name, "isGlobal": True}]}
    refused = await gql.data(document, {"input": {"name": "x", "type": "EMAIL"}}, key=api_a.admin)
    assert refused["registerGlobalTool"]["__typename"] == "Forbidden"
