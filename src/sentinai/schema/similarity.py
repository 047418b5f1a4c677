"""Turning scored candidates into `SimilarCase`s a person can check."""

from __future__ import annotations

import asyncio

from strawberry import Info

from sentinai.context import Context
from sentinai.db import models
from sentinai.errors import ValidationError
from sentinai.repositories.insights import WEIGHTS
from sentinai.repositories.insights import SimilarCase as Scored
from sentinai.schema.enums import SimilarityKind
from sentinai.schema.exceptions import ExceptionType
from sentinai.schema.insights import SimilarCase, SimilarityReason

MAX_SIMILAR = 20


async def similar_cases(info: Info[Context, None], exception_id: str, first: int) -> list[SimilarCase]:
    if not 0 <= first <= MAX_SIMILAR:
        raise ValidationError("first", f"must be between 0 and {MAX_SIMILAR}")
    loaders = info.context.loaders
    scored: list[Scored] = await loaders.similar.load((exception_id, first))
    rows = await loaders.exception.load_many([case.exception_id for case in scored])
    found = [(case, row) for case, row in zip(scored, rows) if row is not None]
    plans = await asyncio.gather(*(loaders.many("exception", "remediation_plans", row) for _, row in found))
    return [
        SimilarCase(
            exception=ExceptionType.from_row(row),
            score=round(case.score, 4),
            reasons=_reasons(case, row),
            resolved_at=row.resolved_at,
            time_to_resolve=int((row.resolved_at - row.created_at).total_seconds()) if row.resolved_at else None,
            remediations=[plan.action_type for plan in row_plans if plan.status == models.PlanStatus.EXECUTED],
        )
        for (case, row), row_plans in zip(found, plans)
    ]


def _reasons(case: Scored, row: models.ExceptionRecord) -> list[SimilarityReason]:
    matches = [
        (case.same_type, SimilarityKind.SAME_TYPE, row.type, WEIGHTS["type"]),
        (case.same_entity, SimilarityKind.SAME_ENTITY, row.entity, WEIGHTS["entity"]),
        (case.same_source_system, SimilarityKind.SAME_SOURCE_SYSTEM, row.source_system, WEIGHTS["source_system"]),
        (case.same_domain, SimilarityKind.SAME_DOMAIN, row.domain, WEIGHTS["domain"]),
        (
            case.text_similarity > 0,
            SimilarityKind.SIMILAR_SUMMARY,
            f"{case.text_similarity:.0%} similar summary",
            WEIGHTS["summary"] * case.text_similarity,
        ),
    ]
    reasons = [
        SimilarityReason(kind=kind, detail=detail, contribution=round(points, 4))
        for matched, kind, detail, points in matches
        if matched
    ]
    return sorted(reasons, key=lambda reason: -reason.contribution)
