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
    FromClause,
    Numeric,
    Select,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import aliased

from sentinai.catalog import EXCEPTION, KINDS, Computed, Paged, SqlEnv
from sentinai.catalog.encodings import sql_text
from sentinai.db import models
from sentinai.domain.sla import SlaState
from sentinai.repositories.base import Repository
from sentinai.repositories.exceptions import ORDERS, ExceptionFilter, ExceptionPage
from sentinai.repositories.pagination import Page
from sentinai.repositories.sla import at_risk_interval, sla_condition

E = models.ExceptionRecord
C = models.ExceptionCount
RESOLVED = models.ExceptionStatus.RESOLVED


@dataclass(frozen=True)
class SimilarityReasonRow:
    """A row of `catalog.similarity.reasons`."""

    kind: str
    detail: str
    contribution: Decimal


@dataclass(frozen=True)
class SimilarCaseRow:
    """A row of `catalog.similarity.similar_cases`, with its reasons."""

    exception_id: str
    score: Decimal
    resolved_at: datetime | None
    time_to_resolve: int | None
    remediations: list[str]
    reasons: list[SimilarityReasonRow]


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
    async def similar_for(self, exception_ids: Sequence[str], first: int) -> dict[str, list[SimilarCaseRow]]:
        """Each exception's `first` most similar others, best first, with their reasons, in one
        statement: the catalogue's own SQL (`catalog.similarity`), which the renderer nests too.

        Candidates come from three index-backed probes per exception (nearest summaries by
        trigram distance, the same entity, the same type; 50 each), so the work per call is
        bounded whatever the tenant's size. Ties break on exception id: the order is stable.
        """
        similar = EXCEPTION.relations["similar"]
        assert isinstance(similar, Computed)
        target = E.__table__.alias("target")
        env = SqlEnv(literal(self.tenant_id), literal(None))
        ranked = similar.rows(target.c, env, first).lateral("ranked")
        statement = (
            select(target.c.exception_id.label("target_id"), ranked, _reasons_json(ranked, env).label("reasons"))
            .select_from(target)
            .join(ranked, true())
            .where(target.c.tenant_id == self.tenant_id, target.c.exception_id.in_(list(set(exception_ids))))
            .order_by(target.c.exception_id, ranked.c.position)
        )
        found: dict[str, list[SimilarCaseRow]] = {exception_id: [] for exception_id in exception_ids}
        for row in (await self.uow.execute(statement)).mappings():
            reasons = [SimilarityReasonRow(**reason) for reason in row["reasons"]]
            values = {name: row[name] for name in ("exception_id", "score", "resolved_at", "time_to_resolve")}
            found[row["target_id"]].append(SimilarCaseRow(**values, remediations=row["remediations"], reasons=reasons))
        return found

    def _earlier_of_the_entity(self, target: Any) -> Select[Any]:
        """The tenant's exceptions in `target`'s entity history (the catalogue's relation)."""
        history = EXCEPTION.relations["entity_history"]
        assert isinstance(history, Paged) and history.where is not None
        joined = [getattr(E, theirs) == getattr(target, ours) for ours, theirs in history.on]
        return select(E).where(E.tenant_id == self.tenant_id, *joined, history.where(target, E))

    async def entity_history_for(
        self, exception_ids: Sequence[str], page: ExceptionPage
    ) -> dict[str, Page[models.ExceptionRecord]]:
        """Earlier exceptions of the same entity as each given one, newest first (one statement)."""
        keyset = ORDERS[page.order]
        target = aliased(E, name="target")
        earlier = page.where.apply(self.tenant_id, self._earlier_of_the_entity(target))
        history = keyset.apply(earlier, page.after, page.first).lateral("history")
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
        return {exception_id: keyset.page(rows, page.first) for exception_id, rows in grouped.items()}

    async def count_entity_history_for(self, exception_ids: Sequence[str]) -> dict[str, int]:
        """How many earlier exceptions each given one's entity has (one statement)."""
        target = aliased(E, name="target")
        earlier = self._earlier_of_the_entity(target).with_only_columns(func.count()).scalar_subquery()
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
_KEY_TYPES = {**{group.value: getattr(E, group.value).type for group in GroupBy}, "bucket_start": E.created_at.type}


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
    return [cast(null(), _KEY_TYPES[name]).label(name) for name in KEY_COLUMNS if name not in grouped]


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


def _reasons_json(ranked: FromClause, env: SqlEnv) -> ColumnElement[Any]:
    """A similar case's reasons as a JSON list, for the resolvers (the renderer selects from them)."""
    similar_case = KINDS["similar_case"].relations["reasons"]
    assert isinstance(similar_case, Computed)
    reason = similar_case.rows(ranked.c, env, None).subquery("reason")
    pairs = [part for field in fields(SimilarityReasonRow) for part in (sql_text(field.name), reason.c[field.name])]
    listed = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), reason.c.position))
    empty = literal_column("'[]'::json", JSON)
    return type_coerce(func.coalesce(select(listed).correlate(ranked).scalar_subquery(), empty), JSON)
