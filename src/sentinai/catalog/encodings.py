"""How a stored value becomes a field's value: once for Python, once for SQL, side by side.

Each `Column` has two faces. Its Python face turns a row (an ORM object) into the value the
Strawberry field holds, which Strawberry then serialises; its SQL face turns the row's columns
into an expression whose JSON, as `json_build_object` writes it, is exactly what Strawberry
writes for the Python face. The two read paths meet here and nowhere else; the differential
test (tests/api/test_read_paths_agree.py) holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, FromClause, Text, case, cast, func, literal_column
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.sql.elements import ColumnElement

Columns = Any
"""A table's or subquery's `.c`: the row a SQL face reads from."""


def outer(c: Columns) -> FromClause:
    """The row source a nested subquery refers to. Correlation is explicit: SQLAlchemy does not
    correlate through the LATERAL page that sits between a page's rows and their relations."""
    return next(iter(c)).table


@dataclass(frozen=True)
class SqlEnv:
    """What a statement binds once for all its rows: the tenant, and the request's instant."""

    tenant: ColumnElement[Any]
    now: ColumnElement[Any]


PythonFace = Callable[[Any], Any]
SqlFace = Callable[[Columns, SqlEnv], ColumnElement[Any]]


@dataclass(frozen=True)
class Column:
    """One field of a kind: `python(row)` for the resolvers, `sql(columns, env)` for the renderer."""

    python: PythonFace
    sql: SqlFace


def sql_text(value: str) -> ColumnElement[str]:
    """A constant string, inlined (statements are cached by shape, so constants must not vary)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def iso_timestamp_sql(column: ColumnElement[Any]) -> ColumnElement[str]:
    """`datetime.isoformat()` of a UTC timestamp, in SQL: microseconds only when not zero
    (PostgreSQL's own JSON rendering drops trailing zeros, Python's keeps all six digits)."""
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    seconds = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    fraction = func.to_char(utc, literal_column("'.US'"))
    whole = func.date_trunc(literal_column("'second'"), utc) == utc
    return seconds + case((whole, literal_column("''", Text)), else_=fraction) + literal_column("'+00:00'", Text)


def plain(source: str) -> Column:
    """Text, integers, booleans, UUIDs: the stored value as it is."""
    return Column(lambda row: getattr(row, source), lambda c, env: c[source])


def json_value(source: str) -> Column:
    """A jsonb document. Its numbers are printed as PostgreSQL keeps them on both paths: the
    engine decodes jsonb numbers as Decimals and the response encoder writes them unchanged."""
    return Column(lambda row: getattr(row, source), lambda c, env: c[source])


def timestamp(source: str) -> Column:
    return Column(lambda row: getattr(row, source), lambda c, env: iso_timestamp_sql(c[source]))


def enum_name(source: str) -> Column:
    """GraphQL enums are the stored lower-case values in upper case (checked in `schema.enums`)."""
    return Column(lambda row: getattr(row, source), lambda c, env: func.upper(cast(c[source], Text)))


def decimal_text(source: str) -> Column:
    """Decimals travel as strings, as Strawberry's Decimal scalar sends them."""
    return Column(lambda row: getattr(row, source), lambda c, env: cast(c[source], Text))


def unit_fraction(source: str) -> Column:
    """A NUMERIC between 0 and 1 with at most four decimals, as a GraphQL Float. The response
    encoder writes a float in its shortest form, with `.0` when whole (`1.0`, `0.85`); float8's
    text is the same shortest form without the `.0`, which the SQL face adds back. In this range
    neither side switches to exponent notation."""

    def sql(c: Columns, env: SqlEnv) -> ColumnElement[Any]:
        value = c[source]
        whole = cast(func.trunc(value), Text) + literal_column("'.0'", Text)
        text = case((value == func.trunc(value), whole), else_=cast(cast(value, Float), Text))
        return cast(text, JSON)

    return Column(lambda row: float(getattr(row, source)), sql)


def seconds(source: str) -> Column:
    """A float8 number of seconds with at most three decimals and below 10¹⁵ in size (the
    repository rounds to the millisecond; instants span less than 10,000 years): in that range
    float8's text is the response encoder's shortest form, plain, less the `.0` of a whole
    number, which the SQL face adds back."""

    def sql(c: Columns, env: SqlEnv) -> ColumnElement[Any]:
        value = c[source]
        text = cast(value, Text)
        return cast(case((value == func.trunc(value), text + literal_column("'.0'", Text)), else_=text), JSON)

    return Column(lambda row: getattr(row, source), sql)


def derived(python: PythonFace, sql: SqlFace) -> Column:
    """A value computed from the row, written twice: `python` and `sql` must agree (tested)."""
    return Column(python, sql)


TENANT_SEPARATOR = ":"
"""Between the tenant and the key in a per-tenant global id (`Exception:northbank:STL-1`). A tenant
id never holds it, so the first one ends the tenant whatever the key holds."""


def global_id(type_name: str, *sources: str, separator: str = "@", per_tenant: bool = False) -> Column:
    """A Relay node id: base64 of `Type:key`, or of `Type:tenant:key` for a kind whose keys are
    only unique within a tenant (the same exception id in two tenants is two objects, and a
    client cache shared by two keys must not merge them). The Python face is what follows
    `Type:` (Strawberry's `NodeID`), from which Strawberry writes the same base64; PostgreSQL
    wraps base64 at 76 characters, so the SQL face unwraps it."""

    def python(row: Any) -> str:
        key = separator.join(str(getattr(row, source)) for source in sources)
        return f"{row.tenant_id}{TENANT_SEPARATOR}{key}" if per_tenant else key

    def sql(c: Columns, env: SqlEnv) -> ColumnElement[str]:
        key: ColumnElement[Any] = cast(c[sources[0]], Text)
        for source in sources[1:]:
            key = key + sql_text(separator) + cast(c[source], Text)
        if per_tenant:
            key = cast(c.tenant_id, Text) + sql_text(TENANT_SEPARATOR) + key
        raw = func.convert_to(sql_text(type_name + ":") + key, sql_text("UTF8"))
        return func.replace(func.encode(raw, sql_text("base64")), literal_column("E'\\n'"), sql_text(""))

    return Column(python, sql)
