"""GraphQL enums. Values are the names in upper case; the database stores lower case.

`strawberry.enum` registers the GraphQL definition on the domain enum itself and returns that
same class, so each GraphQL enum over a domain vocabulary is a plain alias of the domain class
(one the type checker can use as a type), registered once.

A value declared with `strawberry.enum_value` is unwrapped to its plain string when the class
is decorated; `_value_: str` says so to the type checker."""

from __future__ import annotations

import enum

import strawberry

from sentinai.domain import enums as domain
from sentinai.domain import similarity, sla

Severity = domain.Severity
strawberry.enum(Severity, name="Severity", description="How bad an exception is, LOW to CRITICAL.")
ExceptionStatus = domain.ExceptionStatus
strawberry.enum(
    ExceptionStatus,
    name="ExceptionStatus",
    description="Where an exception is in its life: OPEN, ANALYZING, ESCALATED or RESOLVED.",
)
ActorType = domain.ActorType
strawberry.enum(ActorType, name="ActorType", description="Who acted: an AGENT, a USER or the SYSTEM.")
ToolKind = domain.ToolType
strawberry.enum(ToolKind, name="ToolKind", description="How a tool is called.")
RiskLevel = domain.RiskLevel
strawberry.enum(RiskLevel, name="RiskLevel", description="Risk of applying a remediation.")
RemediationPlanStatus = domain.PlanStatus
strawberry.enum(
    RemediationPlanStatus,
    name="RemediationPlanStatus",
    description="PENDING until decided; then APPROVED or REJECTED; then EXECUTED or FAILED.",
)
Role = domain.ApiKeyRole
strawberry.enum(
    Role,
    name="Role",
    description="What an API key may do: VIEWER reads; OPERATOR and AGENT also write exceptions "
    "(an AGENT may propose but never decide remediation plans); ADMIN also manages the tenant's configuration.",
)
SlaSource = domain.SlaSource
strawberry.enum(
    SlaSource,
    name="SlaSource",
    description="Who decided an SLA deadline: the SOURCE that sent it, or the hours of the tenant's POLICY_PACK "
    "(`sla.hours`) or of the domain's DOMAIN_PACK (`slaHours`) for the exception's severity.",
)
TenantStatus = domain.TenantStatus
strawberry.enum(TenantStatus, name="TenantStatus", description="A tenant's lifecycle state.")


@strawberry.enum(name="ExceptionOrder", description="Orderings of the exception list; every one pages by keyset.")
class ExceptionOrder(enum.Enum):
    _value_: str

    NEWEST = strawberry.enum_value("newest", description="Most recently created first.")
    OLDEST = strawberry.enum_value("oldest", description="Oldest first.")
    SLA_DEADLINE = strawberry.enum_value("sla_deadline", description="Earliest SLA deadline first; none last.")
    SEVERITY = strawberry.enum_value("severity", description="Most severe first, then newest.")


@strawberry.enum(name="TimelineOrder", description="Order of a timeline page.")
class TimelineOrder(enum.Enum):
    _value_: str

    CHRONOLOGICAL = strawberry.enum_value("chronological", description="Oldest first (the default).")
    NEWEST_FIRST = strawberry.enum_value("newest_first", description="Newest first: the latest N events.")


@strawberry.enum(name="IngestOutcome", description="What an ingestion did.")
class IngestOutcome(enum.Enum):
    _value_: str

    CREATED = strawberry.enum_value("created", description="The exception was new.")
    UPDATED = strawberry.enum_value("updated", description="Fields owned by the source changed.")
    UNCHANGED = strawberry.enum_value("unchanged", description="A replay: nothing changed.")


@strawberry.enum(name="RemediationOutcome", description="How an approved remediation ended.")
class RemediationOutcome(enum.Enum):
    _value_: str

    EXECUTED = strawberry.enum_value("executed", description="Applied successfully.")
    FAILED = strawberry.enum_value("failed", description="Attempted and failed.")


SlaState = sla.SlaState
strawberry.enum(
    SlaState,
    name="SlaState",
    description="ON_TRACK, AT_RISK (within the tenant's at-risk window), BREACHED (past the deadline, or "
    "resolved after it), MET (resolved in time) or NONE (no deadline).",
)


@strawberry.enum(name="ExceptionStatsGroupBy", description="A dimension to group exception statistics by.")
class ExceptionStatsGroupBy(enum.Enum):
    _value_: str

    DOMAIN = strawberry.enum_value("domain", description="Business domain.")
    TYPE = strawberry.enum_value("type", description="Exception type.")
    SEVERITY = strawberry.enum_value("severity", description="Current severity.")
    STATUS = strawberry.enum_value("status", description="Current status.")
    OWNER = strawberry.enum_value("owner", description="Current owner (null for unassigned).")
    SOURCE_SYSTEM = strawberry.enum_value("source_system", description="Reporting system.")


@strawberry.enum(name="TimeBucket", description="Width of the time buckets statistics are grouped into (UTC).")
class TimeBucket(enum.Enum):
    _value_: str

    HOUR = strawberry.enum_value("hour", description="Calendar hours.")
    DAY = strawberry.enum_value("day", description="Calendar days.")
    WEEK = strawberry.enum_value("week", description="ISO weeks, starting on Monday.")


@strawberry.enum(name="SimilarityKind", description="Why another exception was judged similar.")
class SimilarityKind(enum.Enum):
    _value_: str

    SAME_TYPE = strawberry.enum_value(similarity.SAME_TYPE.kind, description="Same exception type.")
    SAME_ENTITY = strawberry.enum_value(similarity.SAME_ENTITY.kind, description="Same business entity.")
    SAME_SOURCE_SYSTEM = strawberry.enum_value(similarity.SAME_SOURCE_SYSTEM.kind, description="Same reporting system.")
    SAME_DOMAIN = strawberry.enum_value(similarity.SAME_DOMAIN.kind, description="Same business domain.")
    SIMILAR_SUMMARY = strawberry.enum_value(
        similarity.SIMILAR_SUMMARY.kind, description="Trigram similarity of the summaries."
    )
