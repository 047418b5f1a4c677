"""What the Co-Pilot and the supervisor read: SLA state, similar cases, statistics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry
from strawberry import Info

from sentinai.catalog import KINDS
from sentinai.context import Context
from sentinai.schema.enums import ExceptionStatus, Severity, SimilarityKind, SlaState
from sentinai.schema.nodes import CatalogObject
from sentinai.schema.scalars import SafeInt

if TYPE_CHECKING:
    from sentinai.schema.exceptions import ExceptionType

ExceptionRef = Annotated["ExceptionType", strawberry.lazy("sentinai.schema.exceptions")]


@strawberry.type(name="Sla", description="Where an exception stands against its deadline, now.")
class SlaType(CatalogObject):
    kind: ClassVar[str] = "sla"
    deadline: datetime | None = strawberry.field(description="The deadline, if there is one.")
    remaining: SafeInt | None = strawberry.field(
        description="Seconds until the deadline (negative once passed); null when resolved or without deadline."
    )
    state: SlaState = strawberry.field(description="ON_TRACK, AT_RISK, BREACHED, MET or NONE.")
    breached_at: datetime | None = strawberry.field(description="When it was breached (the deadline), if it was.")
    _row: strawberry.Private[Any]


@strawberry.type(name="SimilarityReason", description="One reason a case matched, and what it added to the score.")
class SimilarityReason:
    """Values from the catalogue's `similarity_reason` kind (it has no relations, and `kind` is
    its own field here, so it is not a `CatalogObject`)."""

    kind: SimilarityKind = strawberry.field(description="What matched.")
    detail: str = strawberry.field(description="The matching value, or the summary similarity as a percentage.")
    contribution: float = strawberry.field(description="Points this reason added to the score (0 to 1).")


async def _similar_exception(root: SimilarCase, info: Info[Context, None]) -> ExceptionRef:
    from sentinai.schema.exceptions import ExceptionType

    return ExceptionType.from_row(await info.context.loaders.one(root.kind, "exception", root._row))


def _reasons(root: SimilarCase) -> list[SimilarityReason]:
    reason = KINDS["similarity_reason"]
    return [SimilarityReason(**reason.values(row)) for row in root._row.reasons]


@strawberry.type(name="SimilarCase", description="Another exception of your tenant that resembles this one.")
class SimilarCase(CatalogObject):
    kind: ClassVar[str] = "similar_case"
    exception: ExceptionRef = strawberry.field(resolver=_similar_exception, description="The similar exception.")
    score: float = strawberry.field(description="0 to 1: the sum of the reasons' contributions.")
    reasons: list[SimilarityReason] = strawberry.field(
        resolver=_reasons, description="Why it matched, strongest first."
    )
    resolved_at: datetime | None = strawberry.field(description="When it was resolved, if it was.")
    time_to_resolve: int | None = strawberry.field(description="Seconds from creation to resolution, if resolved.")
    remediations: list[str] = strawberry.field(
        description="Action types of the remediation plans executed on it: how it was fixed."
    )
    _row: strawberry.Private[Any]


@strawberry.type(
    name="ExceptionStatsKey", description="The group a row of statistics describes (unused dimensions are null)."
)
class ExceptionStatsKey(CatalogObject):
    kind: ClassVar[str] = "stats_key"
    domain: str | None = strawberry.field(description="Domain, when grouped by DOMAIN.")
    type: str | None = strawberry.field(description="Type, when grouped by TYPE.")
    severity: Severity | None = strawberry.field(description="Severity, when grouped by SEVERITY.")
    status: ExceptionStatus | None = strawberry.field(description="Status, when grouped by STATUS.")
    owner: str | None = strawberry.field(description="Owner, when grouped by OWNER.")
    source_system: str | None = strawberry.field(description="Source system, when grouped by SOURCE_SYSTEM.")
    bucket_start: datetime | None = strawberry.field(description="Start of the time bucket (by creation time).")
    _row: strawberry.Private[Any]


@strawberry.type(name="ExceptionStatsGroup", description="Statistics of one group of exceptions.")
class ExceptionStatsGroup(CatalogObject):
    kind: ClassVar[str] = "stats_group"
    count: int = strawberry.field(description="Exceptions in the group.")
    open_count: int = strawberry.field(description="Those not resolved.")
    sla_breached_count: int = strawberry.field(description="Those in SLA state BREACHED now.")
    sla_at_risk_count: int = strawberry.field(description="Those in SLA state AT_RISK now.")
    mean_time_to_resolve: float | None = strawberry.field(
        description="Mean seconds from creation to resolution, to the millisecond."
    )
    p90_time_to_resolve: float | None = strawberry.field(
        description="90th percentile of those seconds, to the millisecond."
    )
    total_amount: Decimal | None = strawberry.field(description="Sum of the amounts.")
    _row: strawberry.Private[Any]

    @strawberry.field(name="key", description="The group.")
    def group_key(self) -> ExceptionStatsKey:
        return ExceptionStatsKey.from_row(self._row)
