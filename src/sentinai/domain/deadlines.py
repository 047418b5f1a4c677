"""SLA deadlines from packs: when the source sends no `slaDeadline`, an exception's deadline is
its creation time plus the hours its severity has in the packs in force — the tenant's latest
policy pack (`sla.hours`) when it names that severity, else its domain's latest domain pack
(`slaHours`). The exception records which pack decided (`sla_source`, `sla_pack_version`), so a
severity change can recompute a deadline that was derived and never touch one the source sent.

Packs are checked when published (`domain.packs`); older packs may hold anything, so the hours
are read defensively here: anything but a positive number in range counts as "no hours".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sentinai.domain.enums import Severity, SlaSource

MAX_SLA_HOURS = 24 * 366 * 10
"""Ten years: a deadline further out is a typo, and it keeps `createdAt + hours` in range."""

DERIVED = frozenset({SlaSource.POLICY_PACK, SlaSource.DOMAIN_PACK})


@dataclass(frozen=True)
class PackHours:
    """The SLA hours one pack declares, as stored (`None` when it has none), and its version."""

    version: int | None
    hours: Any


@dataclass(frozen=True)
class SlaPacks:
    """The packs in force for one exception's domain."""

    policy: PackHours
    domain: PackHours


@dataclass(frozen=True)
class Deadline:
    """An exception's deadline and who decided it."""

    at: datetime | None
    source: SlaSource | None = None
    pack_version: int | None = None

    def columns(self) -> dict[str, Any]:
        return {"sla_deadline": self.at, "sla_source": self.source, "sla_pack_version": self.pack_version}


def sent(deadline: datetime) -> Deadline:
    return Deadline(deadline, SlaSource.SOURCE)


def hours_for(hours: Any, severity: Severity) -> float | None:
    """The hours a pack's map gives `severity` (keyed by the GraphQL name, `HIGH`), or None."""
    value = hours.get(severity.name) if isinstance(hours, dict) else None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and 0 < value <= MAX_SLA_HOURS:
        return float(value)
    return None


def derived(created_at: datetime, severity: Severity, packs: SlaPacks) -> Deadline:
    """The deadline the packs give an exception of `severity` created at `created_at`; no
    deadline when neither pack has hours for that severity."""
    for source, pack in ((SlaSource.POLICY_PACK, packs.policy), (SlaSource.DOMAIN_PACK, packs.domain)):
        hours = hours_for(pack.hours, severity)
        if hours is not None:
            return Deadline(created_at + timedelta(hours=hours), source, pack.version)
    return Deadline(None)


def deadline_for(sent_deadline: datetime | None, created_at: datetime, severity: Severity, packs: SlaPacks) -> Deadline:
    """The deadline the source sent, else the one the packs derive."""
    return sent(sent_deadline) if sent_deadline is not None else derived(created_at, severity, packs)


def is_derived(source: SlaSource | None) -> bool:
    """Whether a stored deadline came from a pack (a severity change recomputes it). A deadline
    stored without a source (rows older than this rule, bulk-loaded rows) counts as sent."""
    return source in DERIVED


def follows_packs(deadline: datetime | None, source: SlaSource | None) -> bool:
    """Whether a change of severity (or, by re-ingestion, of domain) recomputes the deadline: a
    derived one, or none at all (the new severity or domain may have hours); never one the source sent."""
    return deadline is None or is_derived(source)
