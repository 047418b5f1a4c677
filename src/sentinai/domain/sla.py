"""SLA state: where an exception stands against its deadline at a given moment.

The rules are written once, as data (`RULES`, first match wins), over four instants: the
deadline, the resolution, now, and the end of the at-risk window. `sla_state` evaluates them in
Python for one row; `catalog.sla` compiles the same table to SQL for rendering, filtering and
counting, so the two cannot drift. An exception counts as resolved when it has `resolved_at`
(a check constraint ties that to status RESOLVED).
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

DEFAULT_AT_RISK = timedelta(hours=4)


class SlaState(str, enum.Enum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    NONE = "none"


class Instant(str, enum.Enum):
    """The operands of the rules."""

    DEADLINE = "deadline"
    RESOLVED_AT = "resolved_at"
    NOW = "now"
    AT_RISK_FROM = "at_risk_from"
    """now + the tenant's at-risk window: a deadline at or before it is at risk."""


@dataclass(frozen=True)
class IsSet:
    instant: Instant


@dataclass(frozen=True)
class IsNotSet:
    instant: Instant


@dataclass(frozen=True)
class Compare:
    left: Instant
    op: str  # "<" or "<="
    right: Instant


Condition = IsSet | IsNotSet | Compare | tuple["Condition", ...]
"""A tuple is a conjunction; the empty tuple always holds."""


@dataclass(frozen=True)
class Rule:
    state: SlaState
    when: Condition


D, R, N, W = Instant.DEADLINE, Instant.RESOLVED_AT, Instant.NOW, Instant.AT_RISK_FROM
RULES: tuple[Rule, ...] = (
    Rule(SlaState.NONE, IsNotSet(D)),
    Rule(SlaState.MET, (IsSet(R), Compare(R, "<=", D))),
    Rule(SlaState.BREACHED, IsSet(R)),  # resolved after the deadline
    Rule(SlaState.BREACHED, Compare(D, "<", N)),  # a deadline exactly reached is not yet breached
    Rule(SlaState.AT_RISK, Compare(D, "<=", W)),  # exactly `at_risk` away is already at risk
    Rule(SlaState.ON_TRACK, ()),
)

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class SlaStatus:
    deadline: datetime | None
    state: SlaState
    remaining: timedelta | None
    """Until the deadline (negative once passed); None when resolved or without a deadline."""
    breached_at: datetime | None
    """The deadline, when the state is BREACHED."""


def holds(condition: Condition, instants: dict[Instant, datetime | None]) -> bool:
    if isinstance(condition, tuple):
        return all(holds(part, instants) for part in condition)
    if isinstance(condition, IsSet):
        return instants[condition.instant] is not None
    if isinstance(condition, IsNotSet):
        return instants[condition.instant] is None
    left, right = instants[condition.left], instants[condition.right]
    return left is not None and right is not None and COMPARISONS[condition.op](left, right)


def sla_state(deadline: datetime | None, resolved_at: datetime | None, now: datetime, at_risk: timedelta) -> SlaStatus:
    instants = {D: deadline, R: resolved_at, N: now, W: now + at_risk}
    state = next(rule.state for rule in RULES if holds(rule.when, instants))
    remaining = deadline - now if deadline is not None and resolved_at is None else None
    return SlaStatus(deadline, state, remaining, deadline if state == SlaState.BREACHED else None)


MAX_AT_RISK_MINUTES = 60 * 24 * 365


def at_risk_window(policy_pack: dict[str, Any] | None) -> timedelta:
    """The tenant's at-risk threshold: `sla.atRiskMinutes` in its latest policy pack, else 4 hours.
    Packs are checked when published (domain.packs); older packs may still hold anything."""
    sla = (policy_pack or {}).get("sla")
    minutes = sla.get("atRiskMinutes") if isinstance(sla, dict) else None
    if isinstance(minutes, (int, float, Decimal)) and not isinstance(minutes, bool):
        if 0 <= minutes <= MAX_AT_RISK_MINUTES:
            return timedelta(minutes=float(minutes))
    return DEFAULT_AT_RISK
