"""What a kind is: its table, scope, node id, columns, relations and the fields only resolvers answer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, or_, true

from sentinai.catalog.encodings import TENANT_SEPARATOR, Column, Columns, SqlEnv
from sentinai.domain.validation import text_problem

NODE_ID = "_id"
"""The column holding a node's global id: Strawberry's Python name for Relay's `id`."""


class Scope(Enum):
    """Which rows of a kind's table a tenant reads."""

    TENANT = "tenant"  # its own (tenant_id = the tenant)
    TENANT_OR_GLOBAL = "tenant_or_global"  # its own and the platform's (tenant_id IS NULL)
    GLOBAL = "global"  # the table has no tenant: every row
    ROW = "row"  # no table: computed from the row of the kind that embeds it

    def condition(self, c: Columns, env: SqlEnv) -> ColumnElement[bool]:
        if self is Scope.TENANT:
            return c.tenant_id == env.tenant
        if self is Scope.TENANT_OR_GLOBAL:
            return or_(c.tenant_id == env.tenant, c.tenant_id.is_(None))
        return true()


Join = tuple[tuple[str, str], ...]
"""(column of the kind, column of the target) pairs that must be equal."""


@dataclass(frozen=True)
class ToOne:
    """An object or null: the target row whose columns equal this row's."""

    target: str
    on: Join


@dataclass(frozen=True)
class ToMany:
    """A list: every target row whose columns equal this row's, in `order` (column, descending)."""

    target: str
    on: Join
    order: tuple[tuple[str, bool], ...]


Condition = Callable[[Columns, Columns], ColumnElement[bool]]
"""A condition on (this row's columns, the target's columns)."""


@dataclass(frozen=True)
class Paged:
    """A connection over the target rows whose columns equal this row's (and that meet `where`);
    its page (size, cursor, filter, ordering) comes from the field's arguments
    (`repositories.events.EventPage`, `repositories.exceptions.ExceptionPage`)."""

    target: str
    on: Join
    where: Condition | None = None


@dataclass(frozen=True)
class Through:
    """A list of the distinct target rows reached through this kind's to-many relation `via`,
    then the to-one relation `then` of its rows, in the order they are first reached."""

    target: str
    via: str
    then: str


Rows = Callable[[Columns, SqlEnv, Any], Select[Any]]
"""`rows(columns of this row, env, the field's argument)`: the rows of a computed kind, as a select
correlated to this row, with a `position` column (from 1) giving their order."""


@dataclass(frozen=True)
class Computed:
    """A list of rows of a kind of Scope.ROW computed in SQL from this row by `rows`. The one
    formulation for both read paths: the renderer nests it, and the repository behind the
    resolver selects the same rows for a batch of parents."""

    target: str
    rows: Rows


@dataclass(frozen=True)
class Embedded:
    """An object computed from this row's own columns (a kind of Scope.ROW)."""

    target: str


Relation = ToOne | ToMany | Paged | Embedded | Through | Computed
Fetch = Callable[[Any, list[Any]], Awaitable[Mapping[Any, Any]]]


@dataclass(frozen=True)
class Node:
    """How a kind is found by the id inside its global id: `parse` the text (None when it is not
    a canonical id of this kind), then `fetch` a batch of parsed ids from a unit of work."""

    parse: Callable[[str], Any]
    fetch: Fetch
    per_tenant: bool = False
    """Its global ids name the tenant (`Type:tenant:key`): see `encodings.global_id`."""

    def key_of(self, node_id: str, tenant_id: str | None) -> Any:
        """The parsed key inside a global id, or None when it is not an id of this kind in the
        caller's tenant. A per-tenant id of another tenant reads as not found. An id without a
        tenant, as issued before 2026-12-02, is still read in the caller's tenant until
        2027-06-30 (docs/api.md); a key that itself holds `:` only has the new form."""
        if self.per_tenant and TENANT_SEPARATOR in node_id:
            tenant, _, node_id = node_id.partition(TENANT_SEPARATOR)
            if tenant != tenant_id:
                return None
        return self.parse(node_id)


@dataclass(frozen=True)
class Kind:
    name: str
    type_name: str
    """The GraphQL object type this kind is rendered as."""
    model: Any
    """The ORM class of its rows (None for an embedded kind)."""
    scope: Scope
    columns: Mapping[str, Column]
    relations: Mapping[str, Relation] = field(default_factory=dict)
    resolver_only: frozenset[str] = frozenset()
    """Fields of the type that only a resolver answers (each has a query of its own, or depends on the caller)."""
    node: Node | None = None

    @property
    def table(self) -> Table | None:
        return self.model.__table__ if self.model is not None else None

    def values(self, row: Any) -> dict[str, Any]:
        """The Strawberry type's constructor arguments for `row` (the global id goes to `key`)."""
        return {("key" if name == NODE_ID else name): column.python(row) for name, column in self.columns.items()}


# -- parsing the id inside a global id: only the canonical spelling of each kind of key

_CANONICAL_INTEGER = re.compile(r"[1-9][0-9]{0,17}")


def integer_id(text: str) -> int | None:
    """ASCII digits, no sign, no leading zero: `Playbook:١` and `Playbook:01` are not `Playbook:1`."""
    return int(text) if _CANONICAL_INTEGER.fullmatch(text) else None


def version_id(text: str) -> int | None:
    """A pack version: a canonical integer that fits its int4 column."""
    number = integer_id(text)
    return number if number is not None and number < 2**31 else None


def uuid_id(text: str) -> uuid.UUID | None:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


def text_id(text: str) -> str | None:
    return text if text_problem(text) is None else None


def versioned_id(text: str) -> tuple[str, int] | None:
    """`Finance@3`: a domain and a version."""
    domain, _, version = text.rpartition("@")
    number = version_id(version)
    return (domain, number) if domain and number is not None and text_problem(domain) is None else None
