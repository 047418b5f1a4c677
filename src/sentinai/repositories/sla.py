"""Filtering and counting by SLA state, with the rules `catalog.sla` compiles from `domain.sla`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from sentinai.catalog.sla import at_risk_interval, in_states, state_sql
from sentinai.db import models
from sentinai.domain.sla import SlaState

E = models.ExceptionRecord.__table__


def any_sla_state(states: list[SlaState], now: datetime, tenant_id: str | ColumnElement[str]) -> ColumnElement[bool]:
    return in_states(E.c, states, now, at_risk_interval(tenant_id))


def sla_condition(state: SlaState, now: datetime, at_risk: ColumnElement[Any]) -> ColumnElement[bool]:
    return state_sql(E.c, now, at_risk) == state.name


__all__ = ["any_sla_state", "at_risk_interval", "sla_condition"]
