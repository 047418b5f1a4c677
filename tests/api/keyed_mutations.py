"""Every mutation that takes an `idempotencyKey`, as a case the property test can send: how to build
a fresh world for it (a tenant, or a suffix on the platform's names), what it needs there, the
valid inputs to generate, and how to make an input that differs."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from sentinai.db.models import ApiKeyRole
from tests.api.helpers import ingest, propose
from tests.api.webhooks import register
from tests.graphql_client import ApiTenant

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
TEXTS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
NOTES = st.none() | TEXTS.filter(str.strip)
SECRET_LOOKING = ("secret", "token", "password", "apikey", "api_key", "authorization", "credential", "private")
JSON_NAMES = NAMES.map("k".__add__).filter(lambda name: not any(hint in name for hint in SECRET_LOOKING))
JSON_OBJECTS = st.dictionaries(JSON_NAMES, st.integers(-5, 5) | NAMES, max_size=3)
URL = "http://127.0.0.1:9/hooks/"


@dataclass
class World:
    """Where one run of a case happens: a fresh tenant with a key per role, and a suffix that
    makes the platform's names (tenants, domains, global tools) its own."""

    tenant: ApiTenant
    suffix: str

    def key(self, role: ApiKeyRole | None, admin_token: str) -> str:
        return admin_token if role is None else self.tenant.keys[role]


Prepare = Callable[[Any, World], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    field: str
    input_type: str
    answer: str
    """The success type's selection: no ids, actors or instants, which differ between worlds."""
    role: ApiKeyRole | None
    """The key that sends it; None: the platform admin."""
    fields: st.SearchStrategy[dict[str, Any]]
    prepare: Prepare
    """The world's part of the input (ids of what the mutation acts on, names made the world's)."""
    vary: Callable[[dict[str, Any]], dict[str, Any]]

    @property
    def document(self) -> str:
        return (
            f"mutation($input: {self.input_type}!) {{ {self.field}(input: $input) {{ __typename "
            f"... on MutationError {{ code message }} {self.answer} }} }}"
        )


async def _nothing(gql, world: World) -> dict[str, Any]:
    return {}


async def _exception(gql, world: World) -> dict[str, Any]:
    await ingest(gql, world.tenant.operator, "EXC-KEYED")
    return {"exceptionId": "EXC-KEYED"}


async def _plan(gql, world: World, **fields: Any) -> dict[str, Any]:
    await ingest(gql, world.tenant.operator, "EXC-KEYED")
    return {"planId": (await propose(gql, world.tenant.agent, "EXC-KEYED", **fields))["plan"]["planId"]}


async def _runnable_plan(gql, world: World) -> dict[str, Any]:
    return await _plan(gql, world, requiresApproval=False)


async def _api_key(gql, world: World) -> dict[str, Any]:
    query = "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on ApiKeySuccess { apiKey { keyId } } } }"
    made = await gql.data(query, {"i": {"name": "to-revoke", "role": "VIEWER"}}, key=world.tenant.admin)
    return {"keyId": made["createApiKey"]["apiKey"]["keyId"]}


async def _endpoint(gql, world: World) -> dict[str, Any]:
    return {"endpointId": (await register(gql, world.tenant.admin, URL + "prepared"))["endpoint"]["endpointId"]}


async def _suffixed(gql, world: World) -> dict[str, Any]:
    return {"suffix": world.suffix}


async def _other_tenant(gql, world: World) -> dict[str, Any]:
    return {"tenantId": world.tenant.tenant_id}


def _with(name: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda given: {**given, name: value}


def _suffix(fields: dict[str, Any], name: str) -> dict[str, Any]:
    """The platform cases name things globally: the world's suffix makes the name its own."""
    given = dict(fields)
    suffix = given.pop("suffix")
    return {**given, name: f"{given[name]}-{suffix}"}


PLAN = (
    "... on RemediationPlanSuccess { replayed plan { status rootCause confidence riskLevel decisionNote outcomeNote } }"
)
TOOL = "... on RegisterToolSuccess { replayed tool { name type config isGlobal description } }"
ENDPOINT = "... on WebhookEndpointSuccess { replayed endpoint { enabled position url } }"
STEPS = st.lists(st.fixed_dictionaries({"name": NAMES, "actionType": NAMES}), min_size=1, max_size=3)
TOOL_FIELDS = st.fixed_dictionaries(
    {"name": NAMES, "type": st.sampled_from(["WEBHOOK", "REST", "EMAIL", "WORKFLOW"]), "config": JSON_OBJECTS},
    optional={"description": TEXTS.filter(str.strip)},
)

CASES = [
    Case(
        "proposeRemediationPlan",
        "ProposeRemediationPlanInput",
        PLAN,
        ApiKeyRole.AGENT,
        st.fixed_dictionaries(
            {
                "rootCause": TEXTS.filter(str.strip),
                "confidence": st.floats(0, 1),
                "actionType": NAMES,
                "riskLevel": st.sampled_from(["LOW", "MEDIUM", "HIGH", "CRITICAL"]),
                "requiresApproval": st.booleans(),
            }
        ),
        _exception,
        _with("rootCause", "another cause"),
    ),
    Case(
        "approveRemediationPlan",
        "DecideRemediationPlanInput",
        PLAN,
        ApiKeyRole.OPERATOR,
        st.fixed_dictionaries({"note": NOTES}),
        _plan,
        _with("note", "another note"),
    ),
    Case(
        "rejectRemediationPlan",
        "DecideRemediationPlanInput",
        PLAN,
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"note": NOTES}),
        _plan,
        _with("planId", 0),
    ),
    Case(
        "recordRemediationOutcome",
        "RecordRemediationOutcomeInput",
        PLAN,
        ApiKeyRole.OPERATOR,
        st.fixed_dictionaries({"outcome": st.sampled_from(["EXECUTED", "FAILED"]), "note": NOTES}),
        _runnable_plan,
        _with("note", "another note"),
    ),
    Case(
        "createPlaybook",
        "CreatePlaybookInput",
        "... on CreatePlaybookSuccess { replayed playbook { name version description steps { stepOrder name } } }",
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"name": NAMES, "steps": STEPS}, optional={"description": TEXTS.filter(str.strip)}),
        _nothing,
        _with("name", "another name"),
    ),
    Case(
        "registerTool",
        "RegisterToolInput",
        TOOL,
        ApiKeyRole.ADMIN,
        TOOL_FIELDS,
        _nothing,
        _with("config", {"another": 1}),
    ),
    Case(
        "publishPolicyPack",
        "PublishPolicyPackInput",
        "... on PublishPolicyPackSuccess { replayed policyPack { version pack } }",
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"pack": JSON_OBJECTS}),
        _nothing,
        _with("pack", {"another": True}),
    ),
    Case(
        "createApiKey",
        "CreateApiKeyInput",
        "... on ApiKeySuccess { replayed secret apiKey { name role revokedAt } }",
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"name": NAMES, "role": st.sampled_from(["VIEWER", "OPERATOR", "AGENT", "ADMIN"])}),
        _nothing,
        _with("name", "another name"),
    ),
    Case(
        "revokeApiKey",
        "RevokeApiKeyInput",
        "... on ApiKeySuccess { replayed secret apiKey { name role } }",
        ApiKeyRole.ADMIN,
        st.just({}),
        _api_key,
        _with("keyId", str(uuid.UUID(int=0))),
    ),
    Case(
        "createWebhookEndpoint",
        "CreateWebhookEndpointInput",
        "... on CreateWebhookEndpointSuccess { replayed secret endpoint { url enabled position description } }",
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"url": NAMES.map(URL.__add__), "description": NOTES, "fromStart": st.booleans()}),
        _nothing,
        _with("description", "another description"),
    ),
    Case(
        "setWebhookEndpointEnabled",
        "SetWebhookEndpointEnabledInput",
        ENDPOINT,
        ApiKeyRole.ADMIN,
        st.fixed_dictionaries({"enabled": st.booleans()}),
        _endpoint,
        lambda given: {**given, "enabled": not given["enabled"]},
    ),
    Case(
        "replayWebhookEndpoint",
        "ReplayWebhookEndpointInput",
        ENDPOINT,
        ApiKeyRole.ADMIN,
        st.just({"after": "0"}),
        _endpoint,
        _with("after", "1"),
    ),
    Case(
        "deleteWebhookEndpoint",
        "DeleteWebhookEndpointInput",
        "... on DeleteWebhookEndpointSuccess { replayed }",
        ApiKeyRole.ADMIN,
        st.just({}),
        _endpoint,
        _with("endpointId", 0),
    ),
    Case(
        "registerGlobalTool",
        "RegisterToolInput",
        TOOL,
        None,
        TOOL_FIELDS,
        _suffixed,
        _with("config", {"another": 1}),
    ),
    Case(
        "publishDomainPack",
        "PublishDomainPackInput",
        "... on PublishDomainPackSuccess { replayed domainPack { domain version pack } }",
        None,
        st.fixed_dictionaries({"domain": NAMES, "pack": JSON_OBJECTS}),
        _suffixed,
        _with("pack", {"another": True}),
    ),
    Case(
        "createTenant",
        "CreateTenantInput",
        "... on TenantSuccess { replayed adminKey tenant { tenantId name status } }",
        None,
        st.fixed_dictionaries({"tenantId": NAMES.map("t".__add__), "name": TEXTS.filter(str.strip)}),
        _suffixed,
        _with("name", "another name"),
    ),
    Case(
        "setTenantStatus",
        "SetTenantStatusInput",
        "... on TenantSuccess { replayed adminKey tenant { status } }",
        None,
        st.fixed_dictionaries({"status": st.sampled_from(["ACTIVE", "SUSPENDED", "ARCHIVED"])}),
        _other_tenant,
        lambda given: {**given, "status": "ACTIVE" if given["status"] != "ACTIVE" else "SUSPENDED"},
    ),
]

SUFFIXED = {"registerGlobalTool": "name", "publishDomainPack": "domain", "createTenant": "tenantId"}


def input_of(case: Case, generated: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
    given = {**generated, **prepared}
    return _suffix(given, SUFFIXED[case.field]) if case.field in SUFFIXED else given
