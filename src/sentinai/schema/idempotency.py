"""The two fields every keyed mutation shares: `idempotencyKey` on its input, `replayed` on its
success type. Declared once here; docs/api.md ("Idempotency keys") says what they promise."""

from __future__ import annotations

from typing import Any

import strawberry

IDEMPOTENCY_KEY = (
    "Makes a retry safe: the same key with the same input, within 24 hours (by default), answers the "
    "first result with `replayed: true` and changes nothing; with another input it is a `Conflict`. "
    "1 to 200 printable characters, scoped to your tenant; a fresh UUID per intended change is best."
)
REPLAYED = (
    "True when this answers a request already done (the same idempotency key, or the same decision "
    "by the same caller): nothing changed."
)


def idempotency_key_field() -> Any:
    return strawberry.field(default=None, description=IDEMPOTENCY_KEY)


def replayed_field() -> Any:
    return strawberry.field(default=False, description=REPLAYED)
