"""Scalars beyond GraphQL's own: a NewType per scalar, and its definition for `StrawberryConfig.scalar_map`."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

MAX_SAFE_INTEGER = 2**53 - 1

SafeInt = NewType("SafeInt", int)
"""An integer that may outgrow GraphQL's 32-bit `Int` (seconds until a deadline decades away)."""


def _safe_integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"SafeInt cannot represent {value!r}: an integer within ±(2^53 - 1) is expected")
    return value


SCALARS: dict[object, ScalarDefinition] = {
    SafeInt: strawberry.scalar(
        name="SafeInt",
        description="An integer within ±(2^53 - 1), exact in every JSON client; for values that outgrow "
        "GraphQL's 32-bit `Int`, such as seconds until a deadline decades away.",
        serialize=_safe_integer,
        parse_value=_safe_integer,
    ),
}
