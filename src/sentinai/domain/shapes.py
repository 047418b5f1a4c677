"""Declared shapes of JSON objects that clients send: event payloads, domain and policy packs.

A shape names the fields it understands; declared fields are type-checked and required ones
must be present. An *open* shape keeps undeclared fields as they are (payloads and packs grow
over time); a *closed* one refuses them, so a typo such as `sla.atRiskHours` is caught where it
is sent instead of being silently ignored where it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sentinai.errors import ValidationError


@dataclass(frozen=True)
class Field:
    kind: str  # "string" | "number" | "integer" | "list" | "object" | "boolean"
    required: bool = False
    choices: frozenset[str] | None = None
    minimum: float | None = None
    above: float | None = None
    """A number must be greater than this (an exclusive minimum)."""
    maximum: float | None = None
    nonblank: bool = False
    """A string must hold more than white space."""
    shape: Shape | None = None
    """For an object: the shape it must have."""
    items: str | None = None
    """For a list: the kind every item must be."""


@dataclass(frozen=True)
class Shape:
    fields: Mapping[str, Field] = field(default_factory=dict)
    closed: bool = False


def matches(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    return isinstance(value, dict)


def check(shape: Shape, value: Mapping[str, Any], path: str, required_for: str = "") -> None:
    """Raise ValidationError naming the first field of `value` (at `path`) that breaks `shape`."""
    if shape.closed:
        for name in value:
            if name not in shape.fields:
                allowed = ", ".join(sorted(shape.fields)) or "none"
                raise ValidationError(f"{path}.{name}", f"is not a known field (known: {allowed})")
    for name, spec in shape.fields.items():
        where = f"{path}.{name}"
        if name not in value or value[name] is None:
            if spec.required:
                raise ValidationError(where, f"is required{f' for {required_for}' if required_for else ''}")
            continue
        _check_field(spec, value[name], where)


def _check_field(spec: Field, value: Any, where: str) -> None:
    if not matches(spec.kind, value):
        raise ValidationError(where, f"must be a {spec.kind}")
    if spec.choices is not None and value not in spec.choices:
        raise ValidationError(where, f"must be one of {sorted(spec.choices)}")
    if spec.minimum is not None and value < spec.minimum:
        raise ValidationError(where, f"must be at least {spec.minimum:g}")
    if spec.above is not None and value <= spec.above:
        raise ValidationError(where, f"must be greater than {spec.above:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValidationError(where, f"must be at most {spec.maximum:g}")
    if spec.nonblank and not value.strip():
        raise ValidationError(where, "must not be blank")
    if spec.shape is not None:
        check(spec.shape, value, where)
    if spec.items is not None:
        for index, item in enumerate(value):
            if not matches(spec.items, item):
                raise ValidationError(f"{where}[{index}]", f"must be a {spec.items}")
