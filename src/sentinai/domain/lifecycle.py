"""The exception status state machine."""

from __future__ import annotations

from sentinai.domain.enums import ExceptionStatus
from sentinai.errors import InvalidTransitionError

OPEN, ANALYZING, ESCALATED, RESOLVED = (
    ExceptionStatus.OPEN,
    ExceptionStatus.ANALYZING,
    ExceptionStatus.ESCALATED,
    ExceptionStatus.RESOLVED,
)

ALLOWED_TRANSITIONS: dict[ExceptionStatus, frozenset[ExceptionStatus]] = {
    OPEN: frozenset({ANALYZING, ESCALATED, RESOLVED}),
    ANALYZING: frozenset({OPEN, ESCALATED, RESOLVED}),
    ESCALATED: frozenset({ANALYZING, RESOLVED}),
    # Reopening is a deliberate act: a resolved exception only goes back to OPEN.
    RESOLVED: frozenset({OPEN}),
}


def check_transition(current: ExceptionStatus, target: ExceptionStatus) -> None:
    """Raise InvalidTransitionError unless `current -> target` is allowed (same state is a no-op)."""
    if current == target:
        return
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransitionError(current.value.upper(), target.value.upper())
