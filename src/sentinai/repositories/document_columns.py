"""The values each kind of row contributes to a read document, as SQL expressions.

Each value is written to equal what the Strawberry type gives for the same row: global
ids, enum names, decimals as strings, timestamps as `datetime.isoformat()` in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Float,
    String,
    Text,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from sentinai.db import models
from sentinai.repositories.pagination import iso_timestamp_sql
from sentinai.repositories.sla import at_risk_interval

TENANT = bindparam("document_tenant", type_=String)
"""Statements are cached across requests and tenants, so the tenant is always a parameter."""
NOW = bindparam("document_now", type_=DateTime(timezone=True))
"""The request's instant, which SLA states are judged at."""

E, V = models.ExceptionRecord.__table__, models.ExceptionEvent.__table__
P, S, T = models.Playbook.__table__, models.PlaybookStep.__table__, models.ToolDefinition.__table__
R = models.RemediationPlan.__table__
Columns = Any  # a table or subquery's `.c`
Value = Callable[[Columns], ColumnElement[Any]]


def sql_string(value: str) -> ColumnElement[str]:
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def _global_id(type_name: str, key: Callable[[Columns], ColumnElement[Any]]) -> Value:
    """Relay's id: base64 of `Type:key` (PostgreSQL wraps base64 at 76 characters; unwrap it)."""

    def render(c: Columns) -> ColumnElement[str]:
        raw = func.convert_to(sql_string(type_name + ":") + cast(key(c), Text), sql_string("UTF8"))
        return func.replace(func.encode(raw, sql_string("base64")), literal_column("E'\\n'"), sql_string(""))

    return render


def _column(name: str) -> Value:
    return lambda c: c[name]


def _timestamp(name: str) -> Value:
    return lambda c: iso_timestamp_sql(c[name])


def _enum_name(name: str) -> Value:
    """GraphQL enums are the stored lower-case values in upper case (checked in `schema.enums`)."""
    return lambda c: func.upper(cast(c[name], Text))


def _as_text(name: str) -> Value:
    """Decimals travel as strings, as Strawberry's Decimal scalar sends them."""
    return lambda c: cast(c[name], Text)


def _secret_names(c: Columns) -> ColumnElement[Any]:
    """The names of a tool's stored secrets, sorted by code point as Python's `sorted` does."""
    name = func.jsonb_object_keys(c.secret_config).table_valued("name").render_derived("secret")
    ordered = aggregate_order_by(name.c.name, name.c.name.collate("C"))
    return select(func.coalesce(func.json_agg(ordered), literal_column("'[]'::json"))).scalar_subquery()


def _plain(*names: str) -> dict[str, Value]:
    return {name: _column(name) for name in names}


def _sla_state(c: Columns) -> ColumnElement[str]:
    """`domain.sla.sla_state`'s rules in SQL, as `repositories.sla.sla_condition` has them."""
    at_risk = at_risk_interval(TENANT)
    return case(
        (c.sla_deadline.is_(None), literal_column("'NONE'", Text)),
        (c.resolved_at.is_not(None) & (c.resolved_at <= c.sla_deadline), literal_column("'MET'", Text)),
        (c.resolved_at.is_not(None), literal_column("'BREACHED'", Text)),
        (c.sla_deadline < NOW, literal_column("'BREACHED'", Text)),
        (c.sla_deadline <= NOW + at_risk, literal_column("'AT_RISK'", Text)),
        else_=literal_column("'ON_TRACK'", Text),
    )


def _sla_remaining(c: Columns) -> ColumnElement[int]:
    """Whole seconds to the deadline, truncated toward zero as Python's `int()` does."""
    seconds = func.trunc(extract("epoch", c.sla_deadline - NOW))
    return case((c.resolved_at.is_(None), cast(seconds, BigInteger)), else_=None)


def _sla_breached_at(c: Columns) -> ColumnElement[str]:
    breached = (c.resolved_at > c.sla_deadline) | (c.resolved_at.is_(None) & (c.sla_deadline < NOW))
    return case((breached, iso_timestamp_sql(c.sla_deadline)), else_=None)


ATTRIBUTES: dict[str, dict[str, Value]] = {
    "exception": {
        "id": _global_id("Exception", lambda c: c.exception_id),
        **_plain("exception_id", "domain", "type", "source_system", "entity", "owner", "summary", "attributes"),
        **_plain("enriched_context", "rca_hypothesis", "domain_pack_version", "policy_pack_version"),
        **{name: _timestamp(name) for name in ("sla_deadline", "resolved_at", "created_at", "updated_at")},
        "severity": _enum_name("severity"),
        "status": _enum_name("status"),
        "amount": _as_text("amount"),
        "current_step_order": _column("current_step"),
    },
    "sla": {  # computed from the exception's row: `Exception.sla` renders over the same columns
        "deadline": _timestamp("sla_deadline"),
        "remaining": _sla_remaining,
        "state": _sla_state,
        "breached_at": _sla_breached_at,
    },
    "event": {
        "id": _global_id("ExceptionEvent", lambda c: c.event_id),
        **_plain("event_id", "exception_id", "event_type", "actor_id", "payload", "state_change"),
        "actor_type": _enum_name("actor_type"),
        "created_at": _timestamp("created_at"),
    },
    "playbook": {
        "id": _global_id("Playbook", lambda c: c.playbook_id),
        **_plain("playbook_id", "name", "version", "description", "conditions"),
        "created_at": _timestamp("created_at"),
    },
    "step": {
        "id": _global_id("PlaybookStep", lambda c: c.step_id),
        **_plain("step_id", "playbook_id", "step_order", "name", "action_type", "params"),
    },
    "plan": {
        "id": _global_id("RemediationPlan", lambda c: c.plan_id),
        **_plain("plan_id", "exception_id", "root_cause", "action_type", "action_params", "requires_approval"),
        **_plain("proposed_by", "decided_by", "decision_note", "outcome_note"),
        **{name: _timestamp(name) for name in ("decided_at", "executed_at", "created_at", "updated_at")},
        "confidence": lambda c: cast(c.confidence, Float),  # a JSON number, as Python's float() gives it
        "risk_level": _enum_name("risk_level"),
        "status": _enum_name("status"),
    },
    "tool": {
        "id": _global_id("Tool", lambda c: c.tool_id),
        **_plain("tool_id", "name", "description", "config"),
        "type": _enum_name("type"),
        "secret_keys": _secret_names,
        "is_global": lambda c: c.tenant_id.is_(None),
        "created_at": _timestamp("created_at"),
    },
}
