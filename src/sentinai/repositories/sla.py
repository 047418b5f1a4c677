"""SQL twin of `domain.sla.sla_state`, for filtering and counting by SLA state in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, literal, or_, select

from sentinai.db import models
from sentinai.domain.packs import MAX_AT_RISK_MINUTES
from sentinai.domain.sla import DEFAULT_AT_RISK, SlaState

E = models.ExceptionRecord
P = models.TenantPolicyPackVersion
RESOLVED = models.ExceptionStatus.RESOLVED


def at_risk_interval(tenant_id: str) -> ColumnElement[Any]:
    """The tenant's at-risk window as an SQL interval (latest policy pack's `sla.atRiskMinutes`)."""
    minutes = P.pack_json["sla"]["atRiskMinutes"]
    valid = and_(func.jsonb_typeof(minutes) == "number", cast(minutes.astext, Float).between(0, MAX_AT_RISK_MINUTES))
    chosen = case((valid, cast(minutes.astext, Float)), else_=DEFAULT_AT_RISK.total_seconds() / 60)
    latest = select(chosen).where(P.tenant_id == tenant_id).order_by(P.version.desc()).limit(1).scalar_subquery()
    default = literal(DEFAULT_AT_RISK.total_seconds() / 60)
    return func.make_interval(0, 0, 0, 0, 0, 0, func.coalesce(latest, default) * 60)


def sla_condition(state: SlaState, now: datetime, at_risk: ColumnElement[Any]) -> ColumnElement[bool]:
    """Rows in `state` at `now`; the same boundaries as `domain.sla.sla_state`."""
    is_open = E.status != RESOLVED
    if state == SlaState.NONE:
        return E.sla_deadline.is_(None)
    if state == SlaState.MET:
        return and_(E.status == RESOLVED, E.resolved_at <= E.sla_deadline)
    if state == SlaState.BREACHED:
        late = and_(E.status == RESOLVED, E.resolved_at > E.sla_deadline)
        return or_(late, and_(is_open, E.sla_deadline.is_not(None), E.sla_deadline < now))
    if state == SlaState.AT_RISK:
        return and_(is_open, E.sla_deadline.is_not(None), E.sla_deadline >= now, E.sla_deadline <= now + at_risk)
    return and_(is_open, E.sla_deadline.is_not(None), E.sla_deadline > now + at_risk)


def any_sla_state(states: list[SlaState], now: datetime, tenant_id: str) -> ColumnElement[bool]:
    at_risk = at_risk_interval(tenant_id)
    return or_(*(sla_condition(state, now, at_risk) for state in states))
