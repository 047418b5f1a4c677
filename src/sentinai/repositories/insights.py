"""Questions the Co-Pilot and the supervisor ask of a tenant's exceptions: SLA state,
similar cases, an entity's history, and grouped statistics. Each is one statement."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from sentinai.db import models
from sentinai.domain.sla import DEFAULT_AT_RISK, SlaState
from sentinai.repositories.base import Repository
from sentinai.repositories.exceptions import ORDERS, ExceptionFilter
from sentinai.repositories.pagination import Page

E = models.ExceptionRecord
P = models.TenantPolicyPackVersion
RESOLVED = models.ExceptionStatus.RESOLVED

# Weights of the similarity score; they add up to 1.
WEIGHTS = {"type": 0.30, "entity": 0.25, "source_system": 0.10, "domain": 0.05, "summary": 0.30}
CANDIDATES_PER_SIGNAL = 50


def at_risk_interval(tenant_id: str) -> ColumnElement[Any]:
    """The tenant's at-risk window as an SQL interval (latest policy pack's `sla.atRiskMinutes`)."""
    minutes = P.pack_json["sla"]["atRiskMinutes"]
    valid = and_(func.jsonb_typeof(minutes) == "number",
                 cast(minutes.astext, Float).between(0, 60 * 24 * 365))
    chosen = case((valid, cast(minutes.astext, Float)), else_=DEFAULT_AT_RISK.total_seconds() / 60)
    latest = select(chosen).where(P.tenant_id == tenant_id).order_by(P.version.desc()).limit(1).scalar_subquery()
    default = literal(DEFAULT_AT_RISK.total_seconds() / 60)
    return func.make_interval(0, 0, 0, 0, 0, 0, func.coalesce(latest, default) * 60)


def sla_condition(state: SlaState, now: datetime, at_risk: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL twin of `domain.sla.sla_state`: rows in `state` at `now`."""
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
    def sla_filter(self, states: Sequence[SlaState], now: datetime) -> ColumnElement[bool]:
        at_risk = at_risk_interval(self.tenant_id)
        return or_(*(sla_condition(state, now, at_risk) for state in states))

    async def list(
        self, where: ExceptionFilter, sla_states: Sequence[SlaState] | None, now: datetime,
        order: str = "newest", first: int = 20, after: str | None = None,
    ) -> Page[models.ExceptionRecord]:
        """The exception list, optionally narrowed to SLA states (one statement)."""
        keyset = ORDERS[order]
        statement = where.apply(select(E).where(E.tenant_id == self.tenant_id))
        if sla_states:
            statement = statement.where(self.sla_filter(sla_states, now))
        rows = (await self.uow.execute(keyset.apply(statement, after, first))).scalars().all()
        return keyset.page(rows, first)

    async def count(self, where: ExceptionFilter, sla_states: Sequence[SlaState] | None, now: datetime) -> int:
        statement = where.apply(select(func.count()).select_from(E).where(E.tenant_id == self.tenant_id))
        if sla_states:
            statement = statement.where(self.sla_filter(sla_states, now))
        return int(await self.uow.scalar(statement))

    async def similar_for(self, exception_ids: Sequence[str], first: int) -> dict[str, list[SimilarCase]]:
        """Each exception's most similar others, best first, in one statement.

        Candidates come from three index-backed probes per exception (nearest summaries by
        trigram distance, the same entity, the same type; 50 each), so the work per call is
        bounded whatever the tenant's size. Ties break on exception id: the order is stable.
        """
        rows = (await self.uow.execute(_SIMILAR, {
            "tenant_id": self.tenant_id, "ids": list(set(exception_ids)), "first": first,
            "per_signal": CANDIDATES_PER_SIGNAL, **{f"w_{name}": weight for name, weight in WEIGHTS.items()},
        })).all()
        found: dict[str, list[SimilarCase]] = {exception_id: [] for exception_id in exception_ids}
        for row in rows:
            found[row.target_id].append(SimilarCase(
                row.exception_id, float(row.score), row.same_type, row.same_entity, row.same_source_system,
                row.same_domain, float(row.text_similarity)))
        return found

    async def entity_history_for(
        self, exception_ids: Sequence[str], first: int, after: str | None = None
    ) -> dict[str, Page[models.ExceptionRecord]]:
        """Earlier exceptions of the same entity as each given one, newest first (one statement)."""
        keyset = ORDERS["newest"]
        target = aliased(E, name="target")
        earlier = (
            select(E)
            .where(E.tenant_id == self.tenant_id, E.entity == target.entity,
                   tuple_(E.created_at, E.exception_id) < tuple_(target.created_at, target.exception_id))
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
            .where(E.tenant_id == self.tenant_id, E.entity == target.entity,
                   tuple_(E.created_at, E.exception_id) < tuple_(target.created_at, target.exception_id))
            .scalar_subquery()
        )
        statement = select(target.exception_id, earlier).where(
            target.tenant_id == self.tenant_id, target.exception_id.in_(list(set(exception_ids))))
        counts = dict((await self.uow.execute(statement)).all())
        return {exception_id: counts.get(exception_id, 0) for exception_id in exception_ids}

    async def stats(
        self, where: ExceptionFilter, group_by: Sequence[GroupBy], bucket: Bucket | None, now: datetime,
        sla_states: Sequence[SlaState] | None = None,
    ) -> list[StatsRow]:
        """Grouped counts, SLA counts, resolution times and amounts, in one statement."""
        at_risk = at_risk_interval(self.tenant_id)
        keys = [getattr(E, group.value).label(group.value) for group in group_by]
        if bucket is not None:
            keys.append(func.date_trunc(bucket.value, E.created_at, "UTC").label("bucket_start"))
        seconds = func.extract("epoch", E.resolved_at - E.created_at)
        statement = where.apply(
            select(
                *keys,
                func.count().label("count"),
                func.count().filter(E.status != RESOLVED).label("open_count"),
                func.count().filter(sla_condition(SlaState.BREACHED, now, at_risk)).label("breached"),
                func.count().filter(sla_condition(SlaState.AT_RISK, now, at_risk)).label("at_risk"),
                func.avg(seconds).label("mean_seconds"),
                func.percentile_cont(0.9).within_group(seconds).label("p90_seconds"),
                func.sum(E.amount).label("total_amount"),
            ).where(E.tenant_id == self.tenant_id)
        )
        if sla_states:
            statement = statement.where(or_(*(sla_condition(state, now, at_risk) for state in sla_states)))
        if keys:
            statement = statement.group_by(*keys).order_by(*keys)
        rows = (await self.uow.execute(statement)).mappings().all()
        return [
            StatsRow(
                keys={group.value: row[group.value] for group in group_by},
                bucket_start=row["bucket_start"] if bucket is not None else None,
                count=row["count"], open_count=row["open_count"], sla_breached_count=row["breached"],
                sla_at_risk_count=row["at_risk"],
                mean_seconds_to_resolve=_float(row["mean_seconds"]), p90_seconds_to_resolve=_float(row["p90_seconds"]),
                total_amount=row["total_amount"],
            )
            for row in rows
        ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


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
