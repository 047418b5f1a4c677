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
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    SQLColumnExpression,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    tuple_,
)
from sqlalchemy.orm import QueryableAttribute

from sentinai.domain.validation import in_range_utc, text_problem
from sentinai.errors import ValidationError

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    cursors: list[str]


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (to JSON, from JSON)


LAST_POSITION = datetime(9999, 12, 31, tzinfo=UTC)
"""A timestamp key after every instant the API accepts: where orderings put rows without one."""


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or in_range_utc(moment, latest=LAST_POSITION) is None:
        raise ValueError("cursor timestamps carry a zone and lie in the accepted range")
    return moment


def _bigint(value: object) -> int:
    if not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError("cursor integers fit in 64 bits")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or text_problem(value) is not None:
        raise ValueError("cursor strings are text PostgreSQL can hold")
    return value


def iso_timestamp_sql(column: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """`datetime.isoformat()` of a UTC timestamp, in SQL: microseconds only when not zero
    (PostgreSQL's own JSON rendering drops trailing zeros, Python's keeps all six digits)."""
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    fraction = func.to_char(utc, literal_column("'.US'"))
    whole = func.date_trunc(literal_column("'second'"), utc) == utc
    return seconds + case((whole, literal_column("''", Text)), else_=fraction) + literal_column("'+00:00'", Text)


DATETIME: Codec = (lambda value: value.isoformat(), _aware)
STRING: Codec = (str, _text)
INTEGER: Codec = (int, _bigint)


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any] | QueryableAttribute[Any]
    """A column expression, or a mapped attribute (`models.X.created_at`)."""
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

    def parameters(self, prefix: str) -> list[BindParameter[Any]]:
        """Named parameters standing for a cursor's values, in statements reused across requests."""
        return [bindparam(f"{prefix}_{n}", type_=key.column.type) for n, key in enumerate(self.keys)]

    def apply(self, statement: Select[Any], after: str | None, limit: int) -> Select[Any]:
        """Rows after the cursor `after`, at most `limit` + 1 (the extra one tells whether a next page exists)."""
        return self.apply_position(statement, self.decode(after) if after is not None else None, limit)

    def apply_position(self, statement: Select[Any], after: Sequence[Any] | None, limit: int) -> Select[Any]:
        """`apply` with the cursor already decoded into its key values (or their `parameters`)."""
        columns = [key.column for key in self.keys]
        if after is not None:
            row_key, position = tuple_(*columns), tuple_(*after)
            statement = statement.where(row_key < position if self.descending else row_key > position)
        return statement.order_by(*self._ordering()).limit(limit + 1)

    def _ordering(self) -> list[ColumnElement[Any]]:
        return [key.column.desc() if self.descending else key.column.asc() for key in self.keys]

    def row_number(self) -> ColumnElement[int]:
        """Each row's position in this ordering, from 1 (for pages that PostgreSQL renders)."""
        return func.row_number().over(order_by=self._ordering())

    def cursor_sql(self) -> ColumnElement[str]:
        """`encode` in SQL. The text is the same as `encode`'s for ASCII values; either way it
        decodes to the same position (Python escapes other characters, PostgreSQL keeps them)."""
        text: ColumnElement[str] = literal_column("'[" + json.dumps(self.name) + "'", Text)
        for key in self.keys:
            value = iso_timestamp_sql(key.column) if key.codec is DATETIME else key.column
            text = text + literal_column("','", Text) + cast(func.to_json(value), Text)
        raw = func.convert_to(text + literal_column("']'", Text), literal_column("'UTF8'"))
        base64 = func.encode(raw, literal_column("'base64'"))
        return func.rtrim(
            func.translate(base64, literal_column("E'+/\\n'"), literal_column("'-_'")), literal_column("'='")
        )

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
