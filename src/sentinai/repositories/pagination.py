"""Keyset pagination with opaque cursors: `WHERE (k1, k2) < (:k1, :k2) ORDER BY k1, k2 LIMIT n`.

A cursor is base64url of a JSON array of the sort-key values of the last row seen,
prefixed by the ordering's name so a cursor from one ordering is refused by another.
Never OFFSET: page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, tuple_

from sentinai.errors import ValidationError

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    cursors: list[str]


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (to JSON, from JSON)


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("cursor timestamps carry a zone")
    return moment


def _bigint(value: object) -> int:
    if not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError("cursor integers fit in 64 bits")
    return value


DATETIME: Codec = (lambda value: value.isoformat(), _aware)
STRING: Codec = (str, str)
INTEGER: Codec = (int, _bigint)


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any]
    value_of: Callable[[Any], Any]
    codec: Codec


@dataclass(frozen=True)
class KeysetOrder:
    """An ordering over unique keys, all in one direction (so a row comparison pages it)."""

    name: str
    keys: tuple[SortKey, ...]
    descending: bool

    def encode(self, row: Any) -> str:
        values = [key.codec[0](key.value_of(row)) for key in self.keys]
        raw = json.dumps([self.name, *values], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str, argument: str = "after") -> list[Any]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            name, *values = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if name != self.name or len(values) != len(self.keys):
                raise ValueError("cursor from another ordering")
            return [key.codec[1](value) for key, value in zip(self.keys, values)]
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ValidationError(argument, "is not a cursor returned by this list") from None

    def apply(self, statement: Select[Any], after: str | None, limit: int) -> Select[Any]:
        columns = [key.column for key in self.keys]
        if after is not None:
            row_key, bound = tuple_(*columns), tuple_(*self.decode(after))
            statement = statement.where(row_key < bound if self.descending else row_key > bound)
        ordering = [column.desc() if self.descending else column.asc() for column in columns]
        return statement.order_by(*ordering).limit(limit + 1)

    def page(self, rows: Sequence[T], limit: int) -> Page[T]:
        items = list(rows[:limit])
        return Page(items, len(rows) > limit, [self.encode(item) for item in items])


def page_size(first: int | None, default: int = 20) -> int:
    """Validate a client's `first`: 1..MAX_PAGE_SIZE."""
    if first is None:
        return default
    if first < 0:
        raise ValidationError("first", "must not be negative")
    if first > MAX_PAGE_SIZE:
        raise ValidationError("first", f"must be at most {MAX_PAGE_SIZE}")
    return first
