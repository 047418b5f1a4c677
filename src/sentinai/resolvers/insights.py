"""The supervisor's and the Co-Pilot's root fields: SLA breaches, entity history, statistics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.domain.enums import ExceptionStatus
from sentinai.domain.sla import SlaState
from sentinai.repositories import exceptions as repo
from sentinai.repositories.insights import Bucket, GroupBy, StatsQuery
from sentinai.repositories.pagination import page_size
from sentinai.resolvers.exceptions import exception_connection, repository_filter
from sentinai.resolvers.permissions import CanRead
from sentinai.schema.connections import Connection
from sentinai.schema.enums import ExceptionStatsGroupBy, TimeBucket
from sentinai.schema.exceptions import ExceptionFilter, ExceptionType
from sentinai.schema.insights import ExceptionStatsGroup

OPEN_STATUSES = [status for status in ExceptionStatus if status != ExceptionStatus.RESOLVED]


# GraphQL field of ExceptionStatsGroup -> the statistic the repository computes for it.
METRIC_FIELDS = {
    "openCount": "open_count",
    "slaBreachedCount": "sla_breached_count",
    "slaAtRiskCount": "sla_at_risk_count",
    "meanTimeToResolve": "mean_seconds_to_resolve",
    "p90TimeToResolve": "p90_seconds_to_resolve",
    "totalAmount": "total_amount",
}


def _selected_names(selections) -> set[str]:
    """Names of every field selected below these, through fragments too."""
    names: set[str] = set()
    for selection in selections:
        if getattr(selection, "name", None):
            names.add(selection.name)
        names |= _selected_names(getattr(selection, "selections", []) or [])
    return names


def stats_query(
    now: datetime,
    filter: ExceptionFilter | None = None,
    group_by: list[ExceptionStatsGroupBy] | None = None,
    bucket: TimeBucket | None = None,
    selected: Iterable[str] = (),
) -> StatsQuery:
    """What `exceptionStats` asks, for both read paths: its arguments, and the statistics among
    the `selected` field names (GraphQL's) besides the count."""
    return StatsQuery(
        repository_filter(filter, now),
        tuple(GroupBy(group.value) for group in dict.fromkeys(group_by or [])),
        Bucket(bucket.value) if bucket else None,
        frozenset(METRIC_FIELDS[name] for name in selected if name in METRIC_FIELDS),
    )


def sla_breach_list(
    now: datetime, include_at_risk: bool | None = True, first: int | None = 20, after: str | None = None
) -> repo.ExceptionPage:
    """The page `slaBreaches` asks for, for both read paths: unresolved, most urgent first."""
    states = [SlaState.BREACHED] if include_at_risk is False else [SlaState.BREACHED, SlaState.AT_RISK]
    where = repo.ExceptionFilter(statuses=OPEN_STATUSES, sla_states=states, now=now)
    return repo.ExceptionPage(where, "sla_deadline", page_size(first), after)


def entity_history_list(
    now: datetime, entity: str, first: int | None = 20, after: str | None = None
) -> repo.ExceptionPage:
    """The page `entityHistory` asks for, for both read paths: an entity's exceptions, newest first."""
    return repo.ExceptionPage(repo.ExceptionFilter(entity=entity), "newest", page_size(first), after)


@strawberry.type
class InsightQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Unresolved exceptions past their deadline or at risk of it, most urgent first.",
    )
    async def sla_breaches(
        self,
        info: Info[Context, None],
        include_at_risk: Annotated[
            bool | None,
            strawberry.argument(description="Also list AT_RISK ones (default true; null means the default)."),
        ] = True,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[ExceptionType] | None:
        return await exception_connection(info, sla_breach_list(info.context.now, include_at_risk, first, after))

    @strawberry.field(
        permission_classes=[CanRead], description="An entity's exceptions and their outcomes, newest first."
    )
    async def entity_history(
        self,
        info: Info[Context, None],
        entity: Annotated[str, strawberry.argument(description="The entity, e.g. a counterparty or patient id.")],
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[ExceptionType] | None:
        return await exception_connection(info, entity_history_list(info.context.now, entity, first, after))

    @strawberry.field(
        permission_classes=[CanRead],
        description="Counts, SLA counts, resolution times and amounts per group, in one SQL statement.",
    )
    async def exception_stats(
        self,
        info: Info[Context, None],
        filter: Annotated[ExceptionFilter | None, strawberry.argument(description="Which exceptions to count.")] = None,
        group_by: Annotated[
            list[ExceptionStatsGroupBy] | None,
            strawberry.argument(description="Dimensions to group by (none: one total row)."),
        ] = None,
        bucket: Annotated[
            TimeBucket | None, strawberry.argument(description="Also group by creation time in these buckets.")
        ] = None,
    ) -> list[ExceptionStatsGroup] | None:
        query = stats_query(info.context.now, filter, group_by, bucket, _selected_names(info.selected_fields))
        rows = await (await info.context.reader()).insights.stats(query, info.context.now)
        return [ExceptionStatsGroup.from_row(row) for row in rows]
