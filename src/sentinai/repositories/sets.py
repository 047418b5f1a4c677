"""Many rows in one statement: each column sent as one array parameter and spread back into rows
by `unnest(…) WITH ORDINALITY`. The statement's text does not depend on how many rows there are,
so it is compiled and prepared once (a VALUES list would compile anew for every row count), and
PostgreSQL's statement-level triggers fire once for all the rows. And the rows a set-based batch
reads and builds, as ORM rows outside the session (`plain_row`)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Enum, String, Table, Text, bindparam, cast, func, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

from sentinai.db.engine import encode_json

M = TypeVar("M")


def plain_row(model: type[M], values: dict[str, Any]) -> M:
    """An ORM row of `model` holding `values`, outside any session, built as the ORM builds the
    rows it loads: no `__init__`, no attribute events, no change history, no identity map. For
    rows a batch only reads, writes with its own statements and presents: the session's
    machinery would buy nothing. Attributes not in `values` read as on any new row (None)."""
    row: M = inspect(model).class_manager.new_instance()
    row.__dict__.update(values)
    return row


def _enum_label(value: enum.Enum | None) -> Any:
    return None if value is None else value.value


def _as_sent(type_: TypeEngine[Any]) -> tuple[TypeEngine[Any], Callable[[Any], Any] | None]:
    """The array element type a column's values travel as, and how a value is turned into it:
    asyncpg has no array codec for enums or jsonb, so those travel as text and are cast back."""
    if isinstance(type_, JSONB):
        return Text(), encode_json
    if isinstance(type_, Enum):
        return String(), _enum_label
    return type_, None


class Unnested:
    """Rows given later, as `parameters(rows)`, as a derived table named `name` (one tuple of
    values per row, in `columns`' order); `position` is each row's 1-based place. Built once, at
    import, with the statements that use it: only the values change from one batch to the next."""

    def __init__(self, name: str, columns: Sequence[Column[Any]]):
        self._types = {column.key: column.type for column in columns}
        self._sent = [(f"{name}_{column.key}", _as_sent(column.type)) for column in columns]
        params = [bindparam(param, type_=ARRAY(sent)) for param, (sent, _) in self._sent]
        self.table: TableValuedAlias = (
            func.unnest(*params)
            .table_valued(*(column.key for column in columns), with_ordinality="position")
            .render_derived(name=name)
        )

    def parameters(self, rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
        """The statement's parameters for `rows`: one array per column."""
        parameters: dict[str, list[Any]] = {}
        for index, (param, (_, convert)) in enumerate(self._sent):
            values = [row[index] for row in rows]
            parameters[param] = values if convert is None else [convert(value) for value in values]
        return parameters

    def __getitem__(self, key: str) -> ColumnElement[Any]:
        """The column `key`, of its target column's type."""
        column = self.table.c[key]
        type_ = self._types[key]
        return cast(column, type_) if isinstance(type_, (JSONB, Enum)) else column

    @property
    def position(self) -> ColumnElement[int]:
        return self.table.c.position

    def insert_into(self, table: Table, key: str, returning: Sequence[str]) -> ReturningInsert[Any]:
        """`INSERT INTO table (tenant_id, …these columns) SELECT :tenant, … FROM` these rows, in
        their order, skipping a row whose (tenant_id, `key`) is stored already, returning
        `returning` of the rows inserted."""
        names = list(self._types)
        rows = select(bindparam("tenant", type_=String), *(self[name] for name in names))
        return (
            insert(table)
            .from_select(["tenant_id", *names], rows.select_from(self.table).order_by(self.position))
            .on_conflict_do_nothing(index_elements=["tenant_id", key])
            .returning(*(table.c[name] for name in returning))
        )
