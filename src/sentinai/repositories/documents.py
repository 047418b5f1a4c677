"""Read documents built by PostgreSQL: one statement renders a whole nested selection as JSON.

The GraphQL layer describes what a client selected as *shapes* (`document_shapes.py`: objects,
lists, pages and the fields in each); this module turns them, with the values each kind of row
contributes (`document_columns.py`), into one SELECT of nested correlated
subqueries (`json_build_object`, `json_agg`) and returns the JSON text PostgreSQL built.
No Python object is made per row, so a page of 50 exceptions with their timelines and
playbooks costs one round trip and one string, like PostGraphile.

The contract is the resolver path's, value for value: the same filters, keyset orderings
and cursors (`pagination.KeysetOrder.cursor_sql` is `encode`'s SQL twin), global ids,
enum names, decimals as strings, and timestamps as `datetime.isoformat()` writes them in UTC.
A test answers the same documents both ways and compares them value by value.
Tenant scope is structural as everywhere else: every table is filtered by the unit of
work's tenant, and row-level security still applies underneath.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    Text,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from sentinai.repositories.base import Repository
from sentinai.repositories.document_columns import ATTRIBUTES, NOW, TENANT, Columns, E, P, R, S, T, V, sql_string
from sentinai.repositories.document_shapes import (
    Attribute,
    Constant,
    Document,
    Edges,
    Field,
    Nodes,
    ObjectShape,
    OneException,
    Paged,
    PageInfo,
    PageShape,
    Related,
)
from sentinai.repositories.events import CHRONOLOGICAL, NEWEST_FIRST
from sentinai.repositories.exceptions import ORDERS
from sentinai.repositories.pagination import KeysetOrder
from sentinai.repositories.tools import visible_to

_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
MAX_KEYS_PER_OBJECT = 50  # json_build_object takes at most 100 arguments


def _json_object(pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """Keys are response keys (GraphQL names by the grammar), so they are safe to inline."""
    if len(pairs) > MAX_KEYS_PER_OBJECT:
        raise ValueError(f"an object of more than {MAX_KEYS_PER_OBJECT} keys cannot be rendered in one call")
    arguments: list[ColumnElement[Any]] = []
    for key, value in pairs:
        if not _GRAPHQL_NAME.match(key):
            raise ValueError(f"{key!r} is not a GraphQL name")
        arguments += [sql_string(key), value]
    return func.json_build_object(*arguments)


def _outer(c: Columns) -> FromClause:
    """The row source a nested subquery refers to. Correlation is explicit: SQLAlchemy does not
    correlate through the LATERAL page that sits between a page's rows and their relations."""
    return next(iter(c)).table


STATEMENT_CACHE_SIZE = 512
_statements: OrderedDict[Hashable, Select[Any]] = OrderedDict()


def _structure(document: Document) -> Hashable | None:
    """What decides a document's statement, without the values bound at execution; None when
    it has no reusable statement (an SLA filter is judged at the request's own instant)."""
    if isinstance(document, OneException):
        return ("one", document.shape)
    where = document.where
    if where.sla_states:
        return None
    values = (getattr(where, field.name) for field in fields(where) if field.name != "now")
    filters = tuple(tuple(value) if isinstance(value, list) else value for value in values)
    return ("list", document.shape, filters, document.order, document.first, document.after is not None)


def _values_of(document: Document, n: int) -> dict[str, Any]:
    if isinstance(document, OneException):
        return {f"exception_id_{n}": document.exception_id}
    if document.after is None:
        return {}
    keyset = ORDERS[document.order]
    return {
        parameter.key: value for parameter, value in zip(keyset.parameters(f"after_{n}"), keyset.decode(document.after))
    }


def _statement(documents: tuple[Document, ...], builder: DocumentRepository) -> Select[Any]:
    """The statement for these documents, built once per structure: building one costs
    milliseconds of SQLAlchemy construction, more than PostgreSQL takes to run it."""
    structures = tuple(_structure(document) for document in documents)
    cacheable = None not in structures
    if cacheable and structures in _statements:
        _statements.move_to_end(structures)
        return _statements[structures]
    statement = select(
        *[cast(builder._document(document, n), Text).label(f"document_{n}") for n, document in enumerate(documents)]
    )
    if cacheable:
        _statements[structures] = statement
        if len(_statements) > STATEMENT_CACHE_SIZE:
            _statements.popitem(last=False)
    return statement


class DocumentRepository(Repository):
    """Renders shapes over the tenant's rows. Every method returns JSON text, or None."""

    async def render(self, documents: Sequence[Document], now: datetime) -> list[str]:
        """Every document in one statement: JSON text each, "null" for an exception not found.
        SLA states are judged at `now`, the request's instant."""
        values: dict[str, Any] = {TENANT.key: self.tenant_id, NOW.key: now}
        for n, document in enumerate(documents):
            values.update(_values_of(document, n))
        statement = _statement(tuple(documents), self)
        row = (await self.uow.execute(statement, values)).one()
        return [text if text is not None else "null" for text in row]

    def _document(self, document: Document, n: int) -> ColumnElement[Any]:
        if isinstance(document, OneException):
            where = (E.c.tenant_id == TENANT, E.c.exception_id == bindparam(f"exception_id_{n}", type_=String))
            return select(self._object(document.shape, E.c)).where(*where).scalar_subquery()
        keyset, where = ORDERS[document.order], document.where
        rows = where.apply(TENANT, select(E).where(E.c.tenant_id == TENANT))
        counted = select(func.count()).select_from(E).where(E.c.tenant_id == TENANT)
        total = where.apply(TENANT, counted).scalar_subquery()
        # A root cursor's values are bound at execution, so the statement serves every page.
        after = keyset.parameters(f"after_{n}") if document.after is not None else None
        return self._page(keyset, rows, document.first, after, document.shape, total)

    def _object(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return _json_object([(key, self._field(shape.kind, field, c)) for key, field in shape.fields])

    def _field(self, kind: str, field: Field, c: Columns) -> ColumnElement[Any]:
        if isinstance(field, Constant):
            return sql_string(field.value)
        if isinstance(field, Attribute):
            return ATTRIBUTES[kind][field.name](c)
        if isinstance(field, Related):
            return RELATIONS[(kind, field.name)](self, field.shape, c)
        return self._events(field, c)

    # -- relations

    def _current_playbook(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return (
            select(self._object(shape, P.c))
            .where(P.c.tenant_id == TENANT, P.c.playbook_id == c.current_playbook_id)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _current_step(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return (
            select(self._object(shape, S.c))
            .where(S.c.tenant_id == TENANT, S.c.playbook_id == c.current_playbook_id)
            .where(S.c.step_order == c.current_step)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _steps(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        steps = aggregate_order_by(self._object(shape, S.c), S.c.step_order)
        return (
            select(func.coalesce(func.json_agg(steps), literal_column("'[]'::json")))
            .where(S.c.tenant_id == TENANT, S.c.playbook_id == c.playbook_id)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _remediation_plans(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        newest_first = aggregate_order_by(self._object(shape, R.c), R.c.created_at.desc(), R.c.plan_id.desc())
        return (
            select(func.coalesce(func.json_agg(newest_first), literal_column("'[]'::json")))
            .where(R.c.tenant_id == TENANT, R.c.exception_id == c.exception_id)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _sla(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return self._object(shape, c)  # the SLA's values come from the exception's own row

    def _tool(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return (
            select(self._object(shape, T.c))
            .where(visible_to(TENANT), T.c.tool_id == c.tool_id)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _events(self, field: Paged, c: Columns) -> ColumnElement[Any]:
        page = field.page
        keyset = NEWEST_FIRST if page.newest_first else CHRONOLOGICAL
        of_the_exception = (V.c.tenant_id == TENANT, V.c.exception_id == c.exception_id)
        scoped = select(V).where(*of_the_exception).correlate(_outer(c))
        counted = select(func.count()).select_from(V).where(*of_the_exception).correlate(_outer(c))
        after = keyset.decode(page.after) if page.after is not None else None
        total = page.where.apply(counted).scalar_subquery()
        return self._page(keyset, page.where.apply(scoped), page.first, after, field.shape, total)

    # -- pages

    def _page(
        self,
        keyset: KeysetOrder,
        rows: Select[Any],
        first: int,
        after: Sequence[Any] | None,
        shape: PageShape,
        total: ColumnElement[Any],
    ) -> ColumnElement[Any]:
        """A Relay connection over `first` rows after the position `after` (a decoded cursor),
        numbered in the keyset's order. One row more than asked for is read, so `hasNextPage`
        needs no second query."""
        numbered = rows.add_columns(keyset.row_number().label("position"), keyset.cursor_sql().label("cursor"))
        page = keyset.apply_position(numbered, after, first).lateral()
        on_page = page.c.position <= first
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, field in shape.fields:
            if isinstance(field, Constant):
                pairs.append((key, sql_string(field.value)))
            elif isinstance(field, Nodes):
                nodes = func.json_agg(aggregate_order_by(self._object(field.shape, page.c), page.c.position))
                pairs.append((key, func.coalesce(nodes.filter(on_page), literal_column("'[]'::json"))))
            elif isinstance(field, Edges):
                edge = _json_object([(name, self._edge_value(part, page.c)) for name, part in field.fields])
                edges = func.json_agg(aggregate_order_by(edge, page.c.position)).filter(on_page)
                pairs.append((key, func.coalesce(edges, literal_column("'[]'::json"))))
            elif isinstance(field, PageInfo):
                values = [(name, self._page_info(part, page.c, first, after, on_page)) for name, part in field.fields]
                pairs.append((key, _json_object(values)))
            else:
                pairs.append((key, total))
        return select(_json_object(pairs)).select_from(page).scalar_subquery()

    def _edge_value(self, part: Constant | Nodes | str, c: Columns) -> ColumnElement[Any]:
        if isinstance(part, Constant):
            return sql_string(part.value)
        if isinstance(part, Nodes):
            return self._object(part.shape, c)
        return c.cursor

    @staticmethod
    def _page_info(
        part: Constant | str, c: Columns, first: int, after: Sequence[Any] | None, on_page: ColumnElement[bool]
    ) -> ColumnElement[Any]:
        if isinstance(part, Constant):
            return sql_string(part.value)
        if part == "hasNextPage":
            return func.count() > first
        if part == "hasPreviousPage":
            return true() if after is not None else false()
        ascending = c.position.desc() if part == "endCursor" else c.position.asc()
        cursors = func.array_agg(aggregate_order_by(c.cursor, ascending)).filter(on_page)
        return type_coerce(cursors, ARRAY(Text))[1]


Relation = Callable[[DocumentRepository, ObjectShape, Columns], ColumnElement[Any]]
RELATIONS: dict[tuple[str, str], Relation] = {
    ("exception", "current_playbook"): DocumentRepository._current_playbook,
    ("exception", "current_step"): DocumentRepository._current_step,
    ("playbook", "steps"): DocumentRepository._steps,
    ("step", "tool"): DocumentRepository._tool,
    ("exception", "sla"): DocumentRepository._sla,
    ("exception", "remediation_plans"): DocumentRepository._remediation_plans,
}
"""What each kind of row can nest, by name; `Exception.events` is the one page (`Paged`)."""
