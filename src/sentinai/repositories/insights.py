"""Questions the Co-Pilot and the supervisor ask of a tenant's exceptions: SLA state,
similar cases, an entity's history, and grouped statistics. Each is one statement."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    Select,
    String,
    bindparam,
    cast,
    func,
    null,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from sentinai.db import models
from sentinai.domain.sla import SlaState
from sentinai.repositories.base import Repository
from sentinai.repositories.exceptions import ORDERS, ExceptionFilter
from sentinai.repositories.pagination import Page
from sentinai.repositories.sla import at_risk_interval, sla_condition

E = models.ExceptionRecord
C = models.ExceptionCount
RESOLVED = models.ExceptionStatus.RESOLVED

# Weights of the similarity score; they add up to 1.
WEIGHTS = {"type": 0.30, "entity": 0.25, "source_system": 0.10, "domain": 0.05, "summary": 0.30}
CANDIDATES_PER_SIGNAL = 50


@dataclass(frozen=True)
class SimilarCase:
    exception_id: str
    score: float
    same_type: bool
    same_entity: bool
    same_source_system: bool
    same_domain: bool
    text_similarity: float


class GroupBy(str, enum.Enum):
    DOMAIN = "domain"
    TYPE = "type"
    SEVERITY = "severity"
    STATUS = "status"
    OWNER = "owner"
    SOURCE_SYSTEM = "source_system"


class Bucket(str, enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


METRICS = (
    "open_count",
    "sla_breached_count",
    "sla_at_risk_count",
    "mean_seconds_to_resolve",
    "p90_seconds_to_resolve",
    "total_amount",
)


@dataclass(frozen=True)
class StatsRow:
    keys: dict[str, Any]
    bucket_start: datetime | None
    count: int
    open_count: int
    sla_breached_count: int
    sla_at_risk_count: int
    mean_seconds_to_resolve: float | None
    p90_seconds_to_resolve: float | None
    total_amount: Decimal | None


class InsightRepository(Repository):
    async def similar_for(self, exception_ids: Sequence[str], first: int) -> dict[str, list[SimilarCase]]:
        """Each exception's most similar others, best first, in one statement.

        Candidates come from three index-backed probes per exception (nearest summaries by
        trigram distance, the same entity, the same type; 50 each), so the work per call is
        bounded whatever the tenant's size. Ties break on exception id: the order is stable.
        """
        rows = (
            await self.uow.execute(
                _SIMILAR,
                {
                    "tenant_id": self.tenant_id,
                    "ids": list(set(exception_ids)),
                    "first": first,
                    "per_signal": CANDIDATES_PER_SIGNAL,
                    **{f"w_{name}": weight for name, weight in WEIGHTS.items()},
                },
            )
        ).all()
        found: dict[str, list[SimilarCase]] = {exception_id: [] for exception_id in exception_ids}
        for row in rows:
            found[row.target_id].append(
                SimilarCase(
                    row.exception_id,
                    float(row.score),
                    row.same_type,
                    row.same_entity,
                    row.same_source_system,
                    row.same_domain,
                    float(row.text_similarity),
                )
            )
        return found

    async def entity_history_for(
        self, exception_ids: Sequence[str], first: int, after: str | None = None
    ) -> dict[str, Page[models.ExceptionRecord]]:
        """Earlier exceptions of the same entity as each given one, newest first (one statement)."""
        keyset = ORDERS["newest"]
        target = aliased(E, name="target")
        earlier = select(E).where(
            E.tenant_id == self.tenant_id,
            E.entity == target.entity,
            tuple_(E.created_at, E.exception_id) < tuple_(target.created_at, target.exception_id),
        )
        history = keyset.apply(earlier, after, first).lateral("history")
        entry = aliased(E, history)
        statement = (
            select(target.exception_id, entry)
            .select_from(target)
            .join(history, true())
            .where(target.tenant_id == self.tenant_id, target.exception_id.in_(list(set(exception_ids))))
        )
        grouped: dict[str, list[models.ExceptionRecord]] = {exception_id: [] for exception_id in exception_ids}
        for target_id, row in (await self.uow.execute(statement)).all():
            grouped[target_id].append(row)
        return {exception_id: keyset.page(rows, first) for exception_id, rows in grouped.items()}

    async def count_entity_history_for(self, exception_ids: Sequence[str]) -> dict[str, int]:
        """How many earlier exceptions each given one's entity has (one statement)."""
        target = aliased(E, name="target")
        earlier = (
            select(func.count())
            .where(
                E.tenant_id == self.tenant_id,
                E.entity == target.entity,
                tuple_(E.created_at, E.exception_id) < tuple_(target.created_at, target.exception_id),
            )
            .scalar_subquery()
        )
        statement = select(target.exception_id, earlier).where(
            target.tenant_id == self.tenant_id, target.exception_id.in_(list(set(exception_ids)))
        )
        counts: dict[str, int] = dict((await self.uow.execute(statement)).all())
        return {exception_id: counts.get(exception_id, 0) for exception_id in exception_ids}

    async def stats(self, query: StatsQuery, now: datetime, scan: bool = False) -> list[StatsRow]:
        """Grouped statistics in one statement (`stats_statement`), SLA states judged at `now`;
        `scan` forces the read-time path."""
        rows = (await self.uow.execute(stats_statement(self.tenant_id, query, now, scan))).mappings().all()
        return [
            StatsRow(
                keys={group.value: row[group.value] for group in query.group_by},
                bucket_start=row["bucket_start"] if query.bucket is not None else None,
                count=row["count"],
                **{name: row.get(name) for name in METRICS},
            )
            for row in rows
        ]


@dataclass(frozen=True)
class StatsQuery:
    """What `exceptionStats` asks: which exceptions, grouped how, and which statistics besides the
    count (SLA counts and percentiles cost a scan's worth of work each, so only those asked for)."""

    where: ExceptionFilter
    group_by: tuple[GroupBy, ...]
    bucket: Bucket | None
    metrics: frozenset[str]


KEY_COLUMNS = (*(group.value for group in GroupBy), "bucket_start")
"""Every column a statistics row has for its group, grouped by or not (then null)."""


def stats_statement(tenant: Any, query: StatsQuery, now: Any, scan: bool = False) -> Select[Any]:
    """The statistics of `query` as one statement, ordered by its groups: one row per group with
    every `KEY_COLUMNS` column, the count and the chosen metrics. `tenant` and `now` are values or
    bound parameters (the document renderer binds them at execution).

    Answered from the write-time counters when they hold everything asked for (see
    `answerable_from_counts`), whatever the tenant's size; otherwise, or with `scan`, from the
    exceptions themselves. Both give the same rows in the same order (a test compares them)."""
    if not scan and answerable_from_counts(query.where, query.group_by, query.bucket, query.metrics):
        return _stats_from_counts(tenant, query)
    return _stats_by_scan(tenant, query, now)


def _ungrouped(query: StatsQuery) -> list[ColumnElement[Any]]:
    """Nulls for the key columns the query does not group by, each of its column's type."""
    grouped = {group.value for group in query.group_by} | ({"bucket_start"} if query.bucket else set())
    types = {**{group.value: getattr(E, group.value).type for group in GroupBy}, "bucket_start": E.created_at.type}
    return [cast(null(), types[name]).label(name) for name in KEY_COLUMNS if name not in grouped]


def _stats_from_counts(tenant: Any, query: StatsQuery) -> Select[Any]:
    keys = [getattr(C, group.value).label(group.value) for group in query.group_by]
    total = func.sum(C.count)
    aggregates = {"open_count": total.filter(C.status != RESOLVED)}
    chosen = [_bigint(aggregate).label(name) for name, aggregate in aggregates.items() if name in query.metrics]
    columns = [*keys, *_ungrouped(query), _bigint(total).label("count"), *chosen]
    statement = _filter_counts(query.where, select(*columns)).where(C.tenant_id == tenant)
    if keys:
        # A combination whose exceptions all moved on keeps a 0 row; the scan has no group for it.
        statement = statement.group_by(*keys).having(total > 0).order_by(*keys)
    return statement


def _stats_by_scan(tenant: Any, query: StatsQuery, now: Any) -> Select[Any]:
    keys = [getattr(E, group.value).label(group.value) for group in query.group_by]
    if query.bucket is not None:
        keys.append(func.date_trunc(query.bucket.value, E.created_at, "UTC").label("bucket_start"))
    seconds = func.extract("epoch", E.resolved_at - E.created_at)
    at_risk = cache(lambda: at_risk_interval(tenant))  # one subquery for both SLA counts
    # Built only when asked for: constructing the SLA conditions costs more than running a count.
    aggregates: dict[str, Callable[[], ColumnElement[Any]]] = {
        "open_count": lambda: func.count().filter(E.status != RESOLVED),
        "sla_breached_count": lambda: func.count().filter(sla_condition(SlaState.BREACHED, now, at_risk())),
        "sla_at_risk_count": lambda: func.count().filter(sla_condition(SlaState.AT_RISK, now, at_risk())),
        "mean_seconds_to_resolve": lambda: _milliseconds(func.avg(seconds)),
        "p90_seconds_to_resolve": lambda: _milliseconds(func.percentile_cont(0.9).within_group(seconds)),
        "total_amount": lambda: func.sum(E.amount),
    }
    chosen = [build().label(name) for name, build in aggregates.items() if name in query.metrics]
    columns = [*keys, *_ungrouped(query), func.count().label("count"), *chosen]
    statement = query.where.apply(tenant, select(*columns).where(E.tenant_id == tenant))
    if keys:
        statement = statement.group_by(*keys).order_by(*keys)
    return statement


def _milliseconds(seconds: ColumnElement[Any]) -> ColumnElement[float]:
    """Seconds to the millisecond, as a float (the field's precision: timestamps are microseconds,
    and a mean or percentile of them has no meaningful digits beyond; it also keeps the value one
    float both read paths print alike, see `catalog.encodings.seconds`)."""
    return cast(func.round(cast(seconds, Numeric), 3), Float)


# What the write-time counters (models.ExceptionCount) can answer: groups and filters on their
# dimensions, and the metrics that are sums of counts. A filter field not named here (one added
# later too) sends the query to the scan.
COUNTED_GROUPS = frozenset({GroupBy.DOMAIN, GroupBy.TYPE, GroupBy.SEVERITY, GroupBy.STATUS})
COUNTED_FILTERS = frozenset({"domain", "type", "statuses", "severities"})
COUNTED_METRICS = frozenset({"open_count"})


def answerable_from_counts(
    where: ExceptionFilter, group_by: Sequence[GroupBy], bucket: Bucket | None, metrics: frozenset[str]
) -> bool:
    """Whether the counters hold the answer: no time bucket, only counted groups, filters and metrics."""
    other_filters = [
        getattr(where, field.name) for field in fields(where) if field.name not in COUNTED_FILTERS | {"now"}
    ]
    return (
        bucket is None
        and set(group_by) <= COUNTED_GROUPS
        and metrics <= COUNTED_METRICS
        and all(value is None or value == [] or value == () for value in other_filters)
    )


def _filter_counts(where: ExceptionFilter, statement: Select[Any]) -> Select[Any]:
    """`ExceptionFilter.apply`'s meaning for the counted fields, on the counters."""
    if where.domain is not None:
        statement = statement.where(C.domain == where.domain)
    if where.type is not None:
        statement = statement.where(C.type == where.type)
    if where.statuses:
        statement = statement.where(C.status.in_(where.statuses))
    if where.severities:
        statement = statement.where(C.severity.in_(where.severities))
    return statement


def _bigint(total: ColumnElement[Any]) -> ColumnElement[int]:
    """A sum of counts as the integer a count is (PostgreSQL sums bigints into numeric; 0 over no rows)."""
    return cast(func.coalesce(total, 0), BigInteger)


_SIMILAR = text("""
SELECT target.exception_id AS target_id, ranked.*
FROM exception AS target
CROSS JOIN LATERAL (
    SELECT scored.exception_id, scored.same_type, scored.same_entity, scored.same_source_system,
           scored.same_domain, scored.text_similarity,
           (CAST(:w_type AS float8) * scored.same_type::int
            + CAST(:w_entity AS float8) * scored.same_entity::int
            + CAST(:w_source_system AS float8) * scored.same_source_system::int
            + CAST(:w_domain AS float8) * scored.same_domain::int
            + CAST(:w_summary AS float8) * scored.text_similarity) AS score
    FROM (
        SELECT candidate.exception_id,
               candidate.type = target.type AS same_type,
               candidate.entity = target.entity AS same_entity,
               candidate.source_system = target.source_system AS same_source_system,
               candidate.domain = target.domain AS same_domain,
               similarity(coalesce(candidate.summary, ''), coalesce(target.summary, '')) AS text_similarity
        FROM (
            (SELECT x.* FROM exception x
              WHERE x.tenant_id = :tenant_id AND x.exception_id <> target.exception_id AND target.summary IS NOT NULL
              ORDER BY x.summary <-> target.summary LIMIT :per_signal)
            UNION
            (SELECT x.* FROM exception x
              WHERE x.tenant_id = :tenant_id AND x.entity = target.entity AND x.exception_id <> target.exception_id
              ORDER BY x.created_at DESC LIMIT :per_signal)
            UNION
            (SELECT x.* FROM exception x
              WHERE x.tenant_id = :tenant_id AND x.type = target.type AND x.exception_id <> target.exception_id
              ORDER BY x.created_at DESC LIMIT :per_signal)
        ) AS candidate
    ) AS scored
    ORDER BY score DESC, scored.exception_id
    LIMIT :first
) AS ranked
WHERE target.tenant_id = :tenant_id AND target.exception_id = ANY(:ids)
ORDER BY target.exception_id, ranked.score DESC, ranked.exception_id
""").bindparams(bindparam("ids", type_=ARRAY(String)))
