"""How alike two exceptions are: the signals of the similarity score and their weights.

A candidate scores the weight of every field it shares with the exception, plus the summary's
weight times the trigram similarity of the two summaries (0 to 1); the weights add up to 1.
`catalog.similarity` compiles these into the one SQL statement both read paths run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signal:
    kind: str
    """The reason's kind, as stored (the GraphQL enum `SimilarityKind` names it in upper case)."""
    field: str
    """The exception's field compared."""
    weight: float


SAME_TYPE = Signal("same_type", "type", 0.30)
SAME_ENTITY = Signal("same_entity", "entity", 0.25)
SAME_SOURCE_SYSTEM = Signal("same_source_system", "source_system", 0.10)
SAME_DOMAIN = Signal("same_domain", "domain", 0.05)
SIMILAR_SUMMARY = Signal("similar_summary", "summary", 0.30)
EQUALITIES = (SAME_TYPE, SAME_ENTITY, SAME_SOURCE_SYSTEM, SAME_DOMAIN)
"""Signals that hold or not; listed in the order reasons of equal weight are given."""
SIGNALS = (*EQUALITIES, SIMILAR_SUMMARY)

CANDIDATES_PER_SIGNAL = 50
"""Candidates per index-backed probe (nearest summaries, same entity, same type)."""
MAX_SIMILAR = 20
"""The most similar cases one field returns."""
SCORE_DECIMALS = 4
