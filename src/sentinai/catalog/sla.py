"""`domain.sla.RULES` compiled to SQL: the SLA state, seconds remaining and breach instant that
the renderer writes and the filters and statistics test, from the same table the Python side
evaluates. Nothing here restates a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Float,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    true,
)

from sentinai.catalog.encodings import Columns, iso_timestamp_sql, sql_text
from sentinai.db import models
from sentinai.domain.sla import (
    DEFAULT_AT_RISK,
    MAX_AT_RISK_MINUTES,
    RULES,
    Condition,
    Instant,
    IsNotSet,
    IsSet,
    SlaState,
)

P = models.TenantPolicyPackVersion


def at_risk_interval(tenant_id: Any) -> ColumnElement[Any]:
    """The tenant's at-risk window as an SQL interval: `domain.sla.at_risk_window` of its latest pack."""
    minutes = P.pack_json["sla"]["atRiskMinutes"]
    valid = and_(func.jsonb_typeof(minutes) == "number", cast(minutes.astext, Float).between(0, MAX_AT_RISK_MINUTES))
    chosen = case((valid, cast(minutes.astext, Float)), else_=DEFAULT_AT_RISK.total_seconds() / 60)
    latest = select(chosen).where(P.tenant_id == tenant_id).order_by(P.version.desc()).limit(1).scalar_subquery()
    default = literal(DEFAULT_AT_RISK.total_seconds() / 60)
    return func.make_interval(0, 0, 0, 0, 0, 0, func.coalesce(latest, default) * 60)


def _moment(now: Any) -> ColumnElement[Any]:
    """`now` as SQL: a parameter of the statement, or a Python datetime bound as one."""
    return now if isinstance(now, ColumnElement) else literal(now, DateTime(timezone=True))


def _instants(c: Columns, now: Any, at_risk: ColumnElement[Any]) -> dict[Instant, Any]:
    now = _moment(now)
    return {
        Instant.DEADLINE: c.sla_deadline,
        Instant.RESOLVED_AT: c.resolved_at,
        Instant.NOW: now,
        Instant.AT_RISK_FROM: now + at_risk,
    }


def _condition(condition: Condition, instants: dict[Instant, Any]) -> ColumnElement[bool]:
    if isinstance(condition, tuple):
        return and_(true(), *(_condition(part, instants) for part in condition))
    if isinstance(condition, IsSet):
        return instants[condition.instant].is_not(None)
    if isinstance(condition, IsNotSet):
        return instants[condition.instant].is_(None)
    return instants[condition.left].op(condition.op)(instants[condition.right])


def state_sql(c: Columns, now: ColumnElement[Any] | datetime, at_risk: ColumnElement[Any]) -> ColumnElement[str]:
    """The state's name. A CASE takes the first rule whose condition holds; a comparison with a
    NULL operand does not hold, as in `domain.sla.holds`."""
    instants = _instants(c, now, at_risk)
    *ruled, last = RULES
    assert last.when == (), "the last rule is the one that always holds"
    whens = [(_condition(rule.when, instants), sql_text(rule.state.name)) for rule in ruled]
    return case(*whens, else_=sql_text(last.state.name))


def in_states(
    c: Columns, states: list[SlaState], now: ColumnElement[Any] | datetime, at_risk: ColumnElement[Any]
) -> Any:
    return state_sql(c, now, at_risk).in_([state.name for state in states])


def remaining_sql(c: Columns, now: Any) -> ColumnElement[int]:
    """Whole seconds to the deadline, truncated toward zero as Python's `int()` does."""
    seconds = cast(func.trunc(extract("epoch", c.sla_deadline - _moment(now))), BigInteger)
    return case((and_(c.sla_deadline.is_not(None), c.resolved_at.is_(None)), seconds), else_=None)


def breached_at_sql(c: Columns, now: ColumnElement[Any], at_risk: ColumnElement[Any]) -> ColumnElement[str]:
    breached = state_sql(c, now, at_risk) == sql_text(SlaState.BREACHED.name)
    return case((breached, iso_timestamp_sql(c.sla_deadline)), else_=None)
