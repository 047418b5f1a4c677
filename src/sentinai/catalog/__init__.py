"""The catalogue: one declaration per kind of object the API shows.

Every field of every kind is declared here once: where its value comes from and how it is
encoded for Python and for SQL (`encodings`), which rows a tenant sees (`Scope`), how a kind
is found by its global id (`Node`), and what it nests (`ToOne`, `ToMany`, `Paged`, `Embedded`,
`Through`, and `Computed` rows such as similar cases, whose SQL is in `catalog.similarity`).
From this one declaration come the Strawberry objects' values (`Kind.values`), the one-statement
renderer (`repositories.documents`), the loaders' batch queries and `node(id:)` (`loaders`), and
what the planner may plan (`api.planner`). The Strawberry classes stay hand-written for their
types and descriptions; `tests/schema/test_catalogue.py` requires each to declare exactly its
kind's fields plus the ones only resolvers answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by

from sentinai.catalog import encodings as enc
from sentinai.catalog.encodings import Column, Columns, SqlEnv
from sentinai.catalog.kinds import (
    NODE_ID,
    Computed,
    Embedded,
    Kind,
    Node,
    Paged,
    Relation,
    Scope,
    Through,
    ToMany,
    ToOne,
    integer_id,
    text_id,
    uuid_id,
    version_id,
    versioned_id,
)
from sentinai.catalog.similarity import reasons, similar_cases
from sentinai.catalog.sla import at_risk_interval, breached_at_sql, remaining_sql, state_sql
from sentinai.db import models


def _plain(*sources: str) -> dict[str, Column]:
    return {source: enc.plain(source) for source in sources}


def _timestamps(*sources: str) -> dict[str, Column]:
    return {source: enc.timestamp(source) for source in sources}


def _secret_names(c: Columns, env: SqlEnv) -> ColumnElement[Any]:
    """The names of a tool's stored secrets, sorted by code point as Python's `sorted` does."""
    name = func.jsonb_object_keys(c.secret_config).table_valued("name").render_derived("secret")
    ordered = aggregate_order_by(name.c.name, name.c.name.collate("C"))
    return select(func.coalesce(func.json_agg(ordered), literal_column("'[]'::json"))).scalar_subquery()


def _sla_at_risk(env: SqlEnv) -> ColumnElement[Any]:
    return at_risk_interval(env.tenant)


def _earlier(ours: Columns, theirs: Columns) -> ColumnElement[bool]:
    """Created before this exception (equal creation times: a smaller id), as the newest-first order has it."""
    return tuple_(theirs.created_at, theirs.exception_id) < tuple_(ours.created_at, ours.exception_id)


PLANS_NEWEST_FIRST = (("created_at", True), ("plan_id", True))


def _similar(c: Columns, env: SqlEnv, first: int) -> Any:
    return similar_cases(c, env, first, PLANS_NEWEST_FIRST)


EXCEPTION = Kind(
    "exception",
    "Exception",
    models.ExceptionRecord,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("Exception", "exception_id", per_tenant=True),
        **_plain("exception_id", "domain", "type", "source_system", "entity", "owner", "summary"),
        **_plain("rca_hypothesis", "domain_pack_version", "policy_pack_version", "sla_pack_version"),
        "sla_source": enc.enum_name("sla_source"),
        "attributes": enc.json_value("attributes"),
        "enriched_context": enc.json_value("enriched_context"),
        **_timestamps("sla_deadline", "resolved_at", "created_at", "updated_at"),
        "severity": enc.enum_name("severity"),
        "status": enc.enum_name("status"),
        "amount": enc.decimal_text("amount"),
        "current_step_order": enc.plain("current_step"),
    },
    {
        "current_playbook": ToOne("playbook", (("current_playbook_id", "playbook_id"),)),
        "current_step": ToOne("step", (("current_playbook_id", "playbook_id"), ("current_step", "step_order"))),
        "remediation_plans": ToMany("plan", (("exception_id", "exception_id"),), PLANS_NEWEST_FIRST),
        "events": Paged("event", (("exception_id", "exception_id"),)),
        "entity_history": Paged("exception", (("entity", "entity"),), _earlier),
        "similar": Computed("similar_case", _similar),
        "policy_pack": ToOne("policy_pack", (("policy_pack_version", "version"),)),
        "sla": Embedded("sla"),
    },
    node=Node(text_id, lambda uow, ids: uow.exceptions.get_many(ids), per_tenant=True),
)

SLA = Kind(
    "sla",
    "Sla",
    None,
    Scope.ROW,
    {  # Python faces read a `domain.sla.SlaStatus`; SQL faces the exception's own row
        "deadline": Column(lambda status: status.deadline, lambda c, env: enc.iso_timestamp_sql(c.sla_deadline)),
        "remaining": Column(
            lambda status: int(status.remaining.total_seconds()) if status.remaining is not None else None,
            lambda c, env: remaining_sql(c, env.now),
        ),
        "state": Column(lambda status: status.state, lambda c, env: state_sql(c, env.now, _sla_at_risk(env))),
        "breached_at": Column(
            lambda status: status.breached_at, lambda c, env: breached_at_sql(c, env.now, _sla_at_risk(env))
        ),
    },
)

SIMILAR_CASE = Kind(
    "similar_case",
    "SimilarCase",
    None,
    Scope.ROW,
    {  # rows of `catalog.similarity.similar_cases`, on both paths
        "score": enc.unit_fraction("score"),
        "resolved_at": enc.timestamp("resolved_at"),
        "time_to_resolve": enc.plain("time_to_resolve"),
        "remediations": enc.json_value("remediations"),
    },
    {
        "exception": ToOne("exception", (("exception_id", "exception_id"),)),
        "reasons": Computed("similarity_reason", reasons),
    },
)

SIMILARITY_REASON = Kind(
    "similarity_reason",
    "SimilarityReason",
    None,
    Scope.ROW,
    {  # rows of `catalog.similarity.reasons`
        "kind": enc.enum_name("kind"),
        "detail": enc.plain("detail"),
        "contribution": enc.unit_fraction("contribution"),
    },
)

EVENT = Kind(
    "event",
    "ExceptionEvent",
    models.ExceptionEvent,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("ExceptionEvent", "event_id", per_tenant=True),
        **_plain("event_id", "exception_id", "event_type", "actor_id"),
        "payload": enc.json_value("payload"),
        "state_change": enc.json_value("state_change"),
        "actor_type": enc.enum_name("actor_type"),
        "created_at": enc.timestamp("created_at"),
    },
    node=Node(uuid_id, lambda uow, ids: uow.events.get_many(ids), per_tenant=True),
)

PLAYBOOK = Kind(
    "playbook",
    "Playbook",
    models.Playbook,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("Playbook", "playbook_id"),
        **_plain("playbook_id", "name", "version", "description"),
        "conditions": enc.json_value("conditions"),
        "created_at": enc.timestamp("created_at"),
    },
    {
        "steps": ToMany("step", (("playbook_id", "playbook_id"),), (("step_order", False),)),
        "tools": Through("tool", via="steps", then="tool"),
    },
    node=Node(integer_id, lambda uow, ids: uow.playbooks.get_many(ids)),
)

STEP = Kind(
    "step",
    "PlaybookStep",
    models.PlaybookStep,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("PlaybookStep", "step_id"),
        **_plain("step_id", "playbook_id", "step_order", "name", "action_type"),
        "params": enc.json_value("params"),
    },
    {"tool": ToOne("tool", (("tool_id", "tool_id"),))},
    node=Node(integer_id, lambda uow, ids: uow.playbooks.get_steps(ids)),
)

TOOL = Kind(
    "tool",
    "Tool",
    models.ToolDefinition,
    Scope.TENANT_OR_GLOBAL,
    {
        NODE_ID: enc.global_id("Tool", "tool_id"),
        **_plain("tool_id", "name", "description"),
        "config": enc.json_value("config"),
        "type": enc.enum_name("type"),
        "secret_keys": enc.derived(lambda row: sorted(row.secret_config), _secret_names),
        "is_global": enc.derived(lambda row: row.tenant_id is None, lambda c, env: c.tenant_id.is_(None)),
        "created_at": enc.timestamp("created_at"),
    },
    node=Node(integer_id, lambda uow, ids: uow.tools.get_many(ids)),
)

PLAN = Kind(
    "plan",
    "RemediationPlan",
    models.RemediationPlan,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("RemediationPlan", "plan_id"),
        **_plain("plan_id", "exception_id", "root_cause", "action_type", "requires_approval"),
        **_plain("proposed_by", "decided_by", "decision_note", "outcome_note"),
        "action_params": enc.json_value("action_params"),
        **_timestamps("decided_at", "executed_at", "created_at", "updated_at"),
        "confidence": enc.unit_fraction("confidence"),
        "risk_level": enc.enum_name("risk_level"),
        "status": enc.enum_name("status"),
    },
    node=Node(integer_id, lambda uow, ids: uow.remediation_plans.get_many(ids)),
)

POLICY_PACK = Kind(
    "policy_pack",
    "PolicyPack",
    models.TenantPolicyPackVersion,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("PolicyPack", "version", per_tenant=True),
        **_plain("version", "published_by"),
        "pack": enc.json_value("pack_json"),
        "created_at": enc.timestamp("created_at"),
    },
    node=Node(version_id, lambda uow, versions: uow.policy_packs.get_many(versions), per_tenant=True),
)

DOMAIN_PACK = Kind(
    "domain_pack",
    "DomainPack",
    models.DomainPackVersion,
    Scope.GLOBAL,
    {
        NODE_ID: enc.global_id("DomainPack", "domain", "version"),
        **_plain("domain", "version", "published_by"),
        "pack": enc.json_value("pack_json"),
        "created_at": enc.timestamp("created_at"),
    },
    node=Node(versioned_id, lambda uow, keys: uow.domain_packs.get_many(keys)),
)

TENANT = Kind(
    "tenant",
    "Tenant",
    models.Tenant,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("Tenant", "tenant_id"),
        **_plain("tenant_id", "name"),
        "status": enc.enum_name("status"),
        **_timestamps("created_at", "updated_at"),
    },
    node=Node(text_id, lambda uow, ids: uow.tenants.get_many(ids)),
)

API_KEY = Kind(
    "api_key",
    "ApiKey",
    models.ApiKey,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("ApiKey", "key_id"),
        **_plain("key_id", "name", "key_prefix", "created_by"),
        "role": enc.enum_name("role"),
        **_timestamps("created_at", "revoked_at", "expires_at"),
    },
    node=Node(uuid_id, lambda uow, ids: uow.api_keys.get_many(ids)),
)

AUDIT_ENTRY = Kind(
    "audit",
    "AuditEntry",
    models.AuditLog,
    Scope.TENANT,
    {
        NODE_ID: enc.global_id("AuditEntry", "audit_id"),
        **_plain("audit_id", "component", "event", "actor"),
        "occurred_at": enc.timestamp("occurred_at"),
    },
    resolver_only=frozenset({"details"}),  # what it shows depends on the caller's role (domain.audit)
    node=Node(integer_id, lambda uow, ids: uow.audit.get_many(ids)),
)

WEBHOOK_ENDPOINT = Kind(
    "webhook_endpoint",
    "WebhookEndpoint",
    models.WebhookEndpoint,
    Scope.TENANT,
    {
        **_plain("endpoint_id", "url", "description", "enabled", "disabled_reason", "position", "failed_attempts"),
        **_plain("created_by"),
        **_timestamps("failing_since", "next_attempt_at", "created_at"),
    },
)

WEBHOOK_DELIVERY = Kind(
    "webhook_delivery",
    "WebhookDelivery",
    models.WebhookDelivery,
    Scope.TENANT,
    {
        **_plain("attempt_id", "position", "status_code", "error", "duration_ms", "succeeded"),
        "attempted_at": enc.timestamp("attempted_at"),
    },
)


def _group_key(source: str, encode: Callable[[str], Column] = enc.plain) -> Column:
    """A statistics row's group value: in Python from its `keys` (null when not grouped by it)."""
    return Column(lambda row: row.keys.get(source), encode(source).sql)


STATS_GROUP = Kind(
    "stats_group",
    "ExceptionStatsGroup",
    None,
    Scope.ROW,
    {  # a row of `repositories.insights.stats_statement` (Python: a `StatsRow`)
        **_plain("count", "open_count", "sla_breached_count", "sla_at_risk_count"),
        "mean_time_to_resolve": enc.seconds("mean_seconds_to_resolve"),
        "p90_time_to_resolve": enc.seconds("p90_seconds_to_resolve"),
        "total_amount": enc.decimal_text("total_amount"),
    },
    {"group_key": Embedded("stats_key")},  # GraphQL's `key`
)

STATS_KEY = Kind(
    "stats_key",
    "ExceptionStatsKey",
    None,
    Scope.ROW,
    {
        **{source: _group_key(source) for source in ("domain", "type", "owner", "source_system")},
        "severity": _group_key("severity", enc.enum_name),
        "status": _group_key("status", enc.enum_name),
        "bucket_start": enc.timestamp("bucket_start"),
    },
)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        EXCEPTION,
        SLA,
        SIMILAR_CASE,
        SIMILARITY_REASON,
        EVENT,
        PLAYBOOK,
        STEP,
        TOOL,
        PLAN,
        POLICY_PACK,
        DOMAIN_PACK,
        TENANT,
        API_KEY,
        AUDIT_ENTRY,
        WEBHOOK_ENDPOINT,
        WEBHOOK_DELIVERY,
        STATS_GROUP,
        STATS_KEY,
    )
}
BY_TYPE_NAME: dict[str, Kind] = {kind.type_name: kind for kind in KINDS.values()}
NODE_KINDS: dict[str, Kind] = {kind.type_name: kind for kind in KINDS.values() if kind.node is not None}
"""The kinds `node(id:)` resolves, by the type name inside a global id."""

__all__ = [
    "BY_TYPE_NAME",
    "EXCEPTION",
    "KINDS",
    "NODE_ID",
    "NODE_KINDS",
    "Column",
    "Computed",
    "Embedded",
    "Kind",
    "Paged",
    "Relation",
    "Scope",
    "SqlEnv",
    "Through",
    "ToMany",
    "ToOne",
]
