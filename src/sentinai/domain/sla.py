"""SLA state: where an exception stands against its deadline at a given moment.

The same rules exist twice on purpose: `sla_state` for one row in Python, and
`repositories.exceptions.sla_condition` for filtering in SQL; a test checks they agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DEFAULT_AT_RISK = timedelta(hours=4)


class SlaState(str, enum.Enum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    NONE = "none"


@dataclass(frozen=True)
class SlaStatus:
    deadline: datetime | None
    state: SlaState
    remaining: timedelta | None  # until the deadline (negative once passed); None when resolved or no deadline
    breached_at: datetime | None


def sla_state(deadline: datetime | None, resolved_at: datetime | None, now: datetime, at_risk: timedelta) -> SlaStatus:
    """A deadline exactly reached is not yet breached; exactly `at_risk` away is already at risk."""
    if deadline is None:
        return SlaStatus(None, SlaState.NONE, None, None)
    if resolved_at is not None:
        if resolved_at <= deadline:
            return SlaStatus(deadline, SlaState.MET, None, None)
        return SlaStatus(deadline, SlaState.BREACHED, None, deadline)
    remaining = deadline - now
    if remaining < timedelta(0):
        return SlaStatus(deadline, SlaState.BREACHED, remaining, deadline)
    state = SlaState.AT_RISK if remaining <= at_risk else SlaState.ON_TRACK
    return SlaStatus(deadline, state, remaining, None)


def at_risk_window(policy_pack: dict[str, Any] | None) -> timedelta:
    """The tenant's at-risk threshold: `sla.atRiskMinutes` in its latest policy pack, else 4 hours."""
    minutes = ((policy_pack or {}).get("sla") or {}).get("atRiskMinutes")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 <= minutes <= 60 * 24 * 365:
        return timedelta(minutes=minutes)
    return DEFAULT_AT_RISK
