"""`domain.similarity` compiled to SQL: an exception's most similar others, and why.

Both selects are correlated to the row they start from, so the same SQL serves both read
paths: the renderer nests them under an exception or a similar case (`repositories.documents`),
and the insights repository selects them for a batch of exceptions for the resolvers
(`repositories.insights.similar_for`). Scores, contributions, percentages and times to resolve
are computed here and nowhere else.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by

from sentinai.catalog.encodings import Columns, SqlEnv, outer, sql_text
from sentinai.db import models
from sentinai.domain.similarity import (
    CANDIDATES_PER_SIGNAL,
    EQUALITIES,
    SCORE_DECIMALS,
    SIMILAR_SUMMARY,
)

X = models.ExceptionRecord.__table__
P = models.RemediationPlan.__table__
DETAILS = tuple(signal.field for signal in EQUALITIES)
"""The candidate's fields a similar case keeps, for its reasons' details."""


Probe = Callable[[FromClause], ColumnElement[Any]]


def _float(value: float) -> ColumnElement[float]:
    return literal_column(f"CAST({value!r} AS float8)")


def _rounded(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.round(cast(value, Numeric), SCORE_DECIMALS)


def _candidates(target: Columns, env: SqlEnv) -> FromClause:
    """Ids from three index-backed probes of the tenant's other exceptions: the nearest summaries
    (GiST trigram index), the latest of the same entity, the latest of the same type."""
    probes: tuple[tuple[Probe, Probe], ...] = (
        (lambda x: target.summary.is_not(None), lambda x: x.c.summary.op("<->")(target.summary)),
        (lambda x: x.c.entity == target.entity, lambda x: x.c.created_at.desc()),
        (lambda x: x.c.type == target.type, lambda x: x.c.created_at.desc()),
    )
    selects = []
    for n, (holds, nearest_first) in enumerate(probes):
        x = X.alias(f"probe_{n}")
        others = (x.c.tenant_id == env.tenant, x.c.exception_id != target.exception_id, holds(x))
        probe = select(x.c.exception_id).where(*others).order_by(nearest_first(x)).limit(CANDIDATES_PER_SIGNAL)
        selects.append(probe.correlate(outer(target)))
    return union(*selects).subquery("candidates")


def similar_cases(target: Columns, env: SqlEnv, first: int, plans_order: Sequence[tuple[str, bool]]) -> Select[Any]:
    """The `first` most similar other exceptions of `target`'s row, best first (ties by id),
    one row each: `position`, `score`, `resolved_at`, `time_to_resolve`, `remediations` (the
    action types of its executed plans, in `plans_order`), and what its reasons are made of."""
    source = outer(target)
    ids = _candidates(target, env)
    c = X.alias("candidate")
    text_similarity = func.similarity(func.coalesce(c.c.summary, ""), func.coalesce(target.summary, ""))
    same = {signal.kind: c.c[signal.field] == target[signal.field] for signal in EQUALITIES}
    terms = [_float(signal.weight) * cast(same[signal.kind], Integer) for signal in EQUALITIES]
    raw = reduce(operator.add, [*terms, _float(SIMILAR_SUMMARY.weight) * text_similarity])
    scored = (
        select(
            c.c.exception_id,
            c.c.created_at,
            c.c.resolved_at,
            *(c.c[field] for field in DETAILS),
            *(flag.label(kind) for kind, flag in same.items()),
            text_similarity.label("text_similarity"),
            raw.label("raw_score"),
        )
        .select_from(ids.join(c, and_(c.c.tenant_id == env.tenant, c.c.exception_id == ids.c.exception_id)))
        .correlate(source)
        .subquery("scored")
    )
    best = (scored.c.raw_score.desc(), scored.c.exception_id)
    top = (
        select(scored, func.row_number().over(order_by=best).label("position"))
        .order_by(*best)
        .limit(first)
        .subquery("top")
    )
    return select(
        top.c.exception_id,
        top.c.position,
        _rounded(top.c.raw_score).label("score"),
        top.c.resolved_at,
        _seconds_to_resolve(top.c).label("time_to_resolve"),
        _remediations(top, env, plans_order).label("remediations"),
        *(top.c[field] for field in DETAILS),
        *(top.c[signal.kind] for signal in EQUALITIES),
        top.c.text_similarity,
    )


def _seconds_to_resolve(c: Columns) -> ColumnElement[Any]:
    seconds = cast(func.trunc(extract("epoch", c.resolved_at - c.created_at)), BigInteger)
    return case((c.resolved_at.is_not(None), seconds), else_=None)


def _remediations(top: FromClause, env: SqlEnv, plans_order: Sequence[tuple[str, bool]]) -> ColumnElement[Any]:
    p = P.alias("executed_plan")
    ordering = [p.c[name].desc() if descending else p.c[name] for name, descending in plans_order]
    executed = (
        select(func.json_agg(aggregate_order_by(p.c.action_type, *ordering)))
        .where(
            p.c.tenant_id == env.tenant,
            p.c.exception_id == top.c.exception_id,
            p.c.status == models.PlanStatus.EXECUTED,
        )
        .correlate(top)
        .scalar_subquery()
    )
    return func.coalesce(executed, literal_column("'[]'::json", JSON))


def reasons(case_row: Columns, env: SqlEnv, argument: Any = None) -> Select[Any]:
    """Why a similar case (a row of `similar_cases`) matched: one row per signal that holds,
    strongest first (equal contributions in the order of `domain.similarity.SIGNALS`)."""
    source = outer(case_row)
    parts = [
        select(
            literal_column(str(order), Integer).label("declared"),
            sql_text(signal.kind).label("kind"),
            cast(case_row[signal.field], Text).label("detail"),
            _rounded(_float(signal.weight)).label("contribution"),
        )
        .where(case_row[signal.kind])
        .correlate(source)
        for order, signal in enumerate(EQUALITIES)
    ]
    similarity = case_row.text_similarity
    percent = cast(cast(func.round(cast(similarity, Numeric) * 100), Integer), Text)
    parts.append(
        select(
            literal_column(str(len(EQUALITIES)), Integer).label("declared"),
            sql_text(SIMILAR_SUMMARY.kind).label("kind"),
            (percent + sql_text("% similar summary")).label("detail"),
            _rounded(_float(SIMILAR_SUMMARY.weight) * similarity).label("contribution"),
        )
        .where(similarity > 0)
        .correlate(source)
    )
    matched = union_all(*parts).subquery("matched")
    strongest = (matched.c.contribution.desc(), matched.c.declared)
    return select(
        matched.c.kind,
        matched.c.detail,
        matched.c.contribution,
        func.row_number().over(order_by=strongest).label("position"),
    )
