"""Read documents built by PostgreSQL: one statement renders a whole nested selection as JSON.

The API layer describes what a client selected as *shapes* (`document_shapes.py`: objects,
lists, pages, the keys to write and the fields under them); this module turns them, with the
SQL face of each field and the relations the catalogue declares (`sentinai.catalog`), into one
SELECT of nested correlated subqueries (`json_build_object`, `json_agg`) and returns the JSON
text PostgreSQL built. It knows keys and kinds, not GraphQL: names, type names and id formats
arrive as data.
No Python object is made per row, so a page of 50 exceptions with their timelines and
playbooks costs one round trip and one string, like PostGraphile.

The contract is the resolver path's, value for value: the same filters, keyset orderings
and cursors (`pagination.KeysetOrder.cursor_sql` is `encode`'s SQL twin), and every value from
the same catalogue column whose Python face the resolvers use. A property-based test answers
generated documents both ways and compares them (tests/api/test_read_paths_agree.py).
Tenant scope is structural as everywhere else: every table is filtered by the unit of
work's tenant, and row-level security still applies underneath.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import fields
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    FromClause,
    Select,
    String,
    Text,
    and_,
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
from sqlalchemy.ext.asyncio import AsyncEngine

from sentinai.catalog import KINDS, Embedded, Kind, SqlEnv, Through, ToMany, ToOne
from sentinai.catalog import Computed as ComputedRelation
from sentinai.catalog import Paged as PagedRelation
from sentinai.catalog.encodings import Columns, outer, sql_text
from sentinai.db import models
from sentinai.db.direct import DriverStatement, fetch_row
from sentinai.db.session import Scope
from sentinai.repositories.base import Repository
from sentinai.repositories.document_shapes import (
    Attribute,
    Computed,
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
    Statistics,
)
from sentinai.repositories.events import CHRONOLOGICAL, NEWEST_FIRST, EventPage
from sentinai.repositories.exceptions import ORDERS, ExceptionPage
from sentinai.repositories.insights import stats_statement
from sentinai.repositories.pagination import KeysetOrder

E = models.ExceptionRecord.__table__
TENANT = bindparam("document_tenant", type_=String)
"""Statements are cached across requests and tenants, so the tenant is always a parameter."""
NOW = bindparam("document_now", type_=DateTime(timezone=True))
"""The request's instant, which SLA states are judged at."""
ENV = SqlEnv(TENANT, NOW)

_SAFE_KEY = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
MAX_KEYS_PER_OBJECT = 50  # json_build_object takes at most 100 arguments


def _json_object(pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """Keys are inlined into the statement, so only names of letters, digits and `_` are taken."""
    if len(pairs) > MAX_KEYS_PER_OBJECT:
        raise ValueError(f"an object of more than {MAX_KEYS_PER_OBJECT} keys cannot be rendered in one call")
    arguments: list[ColumnElement[Any]] = []
    for key, value in pairs:
        if not _SAFE_KEY.match(key):
            raise ValueError(f"{key!r} is not a plain name")
        arguments += [sql_text(key), value]
    return func.json_build_object(*arguments)


STATEMENT_CACHE_SIZE = 512
_statements: OrderedDict[Hashable, Select[*tuple[Any, ...]]] = OrderedDict()


def _structure(document: Document) -> Hashable | None:
    """What decides a document's statement, without the values bound at execution; None when
    it has no reusable statement (an SLA filter is judged at the request's own instant)."""
    if isinstance(document, OneException):
        return ("one", document.shape)
    where = document.query.where if isinstance(document, Statistics) else document.page.where
    if where.sla_states:
        return None
    values = (getattr(where, field.name) for field in fields(where) if field.name != "now")
    filters = tuple(tuple(value) if isinstance(value, list) else value for value in values)
    if isinstance(document, Statistics):
        query = document.query
        return ("statistics", document.shape, filters, query.group_by, query.bucket, query.metrics)
    page = document.page
    return ("list", document.shape, filters, page.order, page.first, page.after is not None)


def _parameters(documents: Sequence[Document], tenant_id: str | None, now: datetime) -> dict[str, Any]:
    """What a statement of `documents` binds at execution: the tenant, the instant, and each
    document's own values (exception ids, cursors)."""
    values: dict[str, Any] = {TENANT.key: tenant_id, NOW.key: now}
    for n, document in enumerate(documents):
        values.update(_values_of(document, n))
    return values


def _texts(row: Sequence[str | None]) -> list[str]:
    """Each document's JSON text, "null" for an object not found."""
    return [text if text is not None else "null" for text in row]


def _values_of(document: Document, n: int) -> dict[str, Any]:
    if isinstance(document, OneException):
        return {f"exception_id_{n}": document.exception_id}
    if isinstance(document, Statistics):
        return {}
    if document.page.after is None:
        return {}
    keyset = ORDERS[document.page.order]
    positions = keyset.decode(document.page.after)
    return {parameter.key: value for parameter, value in zip(keyset.parameters(f"after_{n}"), positions)}


def _statement(documents: tuple[Document, ...], builder: DocumentRepository) -> Select[*tuple[Any, ...]]:
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
        """Every document in one statement: JSON text each, "null" for an object not found.
        SLA states are judged at `now`, the request's instant."""
        statement = _statement(tuple(documents), self)
        row = (await self.uow.execute(statement, _parameters(documents, self.tenant_id, now))).one()
        return _texts(row)

    def _document(self, document: Document, n: int) -> ColumnElement[Any]:
        if isinstance(document, OneException):
            one = E.alias("one_exception")  # the table itself is left to relations paging over it
            match = (one.c.tenant_id == TENANT, one.c.exception_id == bindparam(f"exception_id_{n}", type_=String))
            return select(self._object(document.shape, one.c)).where(*match).scalar_subquery()
        if isinstance(document, Statistics):
            return self._statistics(document)
        page = document.page
        keyset, where = ORDERS[page.order], page.where
        rows = where.apply(TENANT, select(E).where(E.c.tenant_id == TENANT))
        counted = select(func.count()).select_from(E).where(E.c.tenant_id == TENANT)
        total = where.apply(TENANT, counted).scalar_subquery()
        # A root cursor's values are bound at execution, so the statement serves every page.
        after = keyset.parameters(f"after_{n}") if page.after is not None else None
        return self._page(keyset, rows, page.first, after, document.shape, total)

    def _statistics(self, document: Statistics) -> ColumnElement[Any]:
        """The groups `insights.stats_statement` computes, as a list in its order."""
        query = document.query
        rows = stats_statement(TENANT, query, NOW).subquery("statistics")
        order = [rows.c[group.value] for group in query.group_by]
        if query.bucket is not None:
            order.append(rows.c.bucket_start)
        groups = func.json_agg(
            aggregate_order_by(self._object(document.shape, rows.c), *order)
            if order
            else self._object(document.shape, rows.c)
        )
        return select(func.coalesce(groups, literal_column("'[]'::json"))).select_from(rows).scalar_subquery()

    def _object(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return _json_object([(key, self._field(KINDS[shape.kind], field, c)) for key, field in shape.fields])

    def _field(self, kind: Kind, field: Field, c: Columns) -> ColumnElement[Any]:
        if isinstance(field, Constant):
            return sql_text(field.value)
        if isinstance(field, Attribute):
            return kind.columns[field.name].sql(c, ENV)
        relation = kind.relations[field.name]
        if isinstance(field, Paged):
            assert isinstance(relation, PagedRelation)
            return self._paged(relation, field, c)
        if isinstance(field, Computed):
            assert isinstance(relation, ComputedRelation)
            return self._computed(relation, field, c)
        if isinstance(relation, Embedded):
            return self._object(field.shape, c)  # computed from the same row
        if isinstance(relation, Through):
            return self._through(kind, relation, field.shape, c)
        assert isinstance(relation, (ToOne, ToMany))
        target, t = _aliased(relation.target)
        rows = select().select_from(t).where(target.scope.condition(t.c, ENV), *_joined(relation, c, t.c))
        if isinstance(relation, ToOne):
            return rows.add_columns(self._object(field.shape, t.c)).correlate(outer(c)).scalar_subquery()
        ordered = aggregate_order_by(self._object(field.shape, t.c), *_ordering(relation.order, t.c))
        return rows.add_columns(_listed(ordered)).correlate(outer(c)).scalar_subquery()

    def _through(self, kind: Kind, relation: Through, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        """The distinct targets of `via`'s rows, ordered by the first row reaching each."""
        via = kind.relations[relation.via]
        assert isinstance(via, ToMany)
        via_kind, v = _aliased(via.target)
        then = via_kind.relations[relation.then]
        assert isinstance(then, ToOne)
        keys = [v.c[ours] for ours, _ in then.on]
        reached = (
            select(*keys, func.row_number().over(order_by=_ordering(via.order, v.c)).label("reached"))
            .where(via_kind.scope.condition(v.c, ENV), *_joined(via, c, v.c))
            .correlate(outer(c))
            .subquery("reached")
        )
        firsts = [reached.c[ours] for ours, _ in then.on]
        first = select(*firsts, func.min(reached.c.reached).label("reached")).group_by(*firsts).subquery("first")
        target, t = _aliased(relation.target)
        on = [t.c[theirs] == first.c[ours] for ours, theirs in then.on]
        items = _listed(aggregate_order_by(self._object(shape, t.c), first.c.reached))
        return (
            select(items)
            .select_from(t.join(first, and_(*on)))
            .where(target.scope.condition(t.c, ENV))
            .scalar_subquery()
        )

    def _computed(self, relation: ComputedRelation, field: Computed, c: Columns) -> ColumnElement[Any]:
        rows = relation.rows(c, ENV, field.argument).subquery()
        items = _listed(aggregate_order_by(self._object(field.shape, rows.c), rows.c.position))
        return select(items).select_from(rows).scalar_subquery()

    # -- paged relations: a timeline, an entity's history

    def _paged(self, relation: PagedRelation, field: Paged, c: Columns) -> ColumnElement[Any]:
        """A connection over the target's own table: keysets and filters are written over it."""
        page, target = field.page, KINDS[relation.target]
        assert target.table is not None
        t = target.table.c
        keyset, filtered = _paging(page)
        mine = [target.scope.condition(t, ENV), *_joined(relation, c, t)]
        if relation.where is not None:
            mine.append(relation.where(c, t))
        scoped = select(target.table).where(*mine).correlate(outer(c))
        counted = select(func.count()).select_from(target.table).where(*mine).correlate(outer(c))
        after = keyset.decode(page.after) if page.after is not None else None
        total = filtered(counted).scalar_subquery()
        return self._page(keyset, filtered(scoped), page.first, after, field.shape, total)

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
        needs no second query. The page is one aggregate row (HAVING TRUE), whatever is selected
        of it: a count alone, or only constants, is still one row, also when the page is empty."""
        numbered = rows.add_columns(keyset.row_number().label("position"), keyset.cursor_sql().label("cursor"))
        page = keyset.apply_position(numbered, after, first).lateral()
        on_page = page.c.position <= first
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, field in shape.fields:
            if isinstance(field, Constant):
                pairs.append((key, sql_text(field.value)))
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
        return select(_json_object(pairs)).select_from(page).having(true()).scalar_subquery()

    def _edge_value(self, part: Constant | Nodes | str, c: Columns) -> ColumnElement[Any]:
        if isinstance(part, Constant):
            return sql_text(part.value)
        if isinstance(part, Nodes):
            return self._object(part.shape, c)
        return c.cursor

    @staticmethod
    def _page_info(
        part: Constant | str, c: Columns, first: int, after: Sequence[Any] | None, on_page: ColumnElement[bool]
    ) -> ColumnElement[Any]:
        if isinstance(part, Constant):
            return sql_text(part.value)
        if part == "hasNextPage":
            return func.count() > first
        if part == "hasPreviousPage":
            return true() if after is not None else false()
        ascending = c.position.desc() if part == "endCursor" else c.position.asc()
        cursors = func.array_agg(aggregate_order_by(c.cursor, ascending)).filter(on_page)
        return type_coerce(cursors, ARRAY(Text))[1]


def _joined(relation: ToOne | ToMany | PagedRelation, c: Columns, target: Columns) -> list[ColumnElement[bool]]:
    return [target[theirs] == c[ours] for ours, theirs in relation.on]


def _aliased(kind_name: str) -> tuple[Kind, FromClause]:
    """A kind and a fresh alias of its table: a nested object never shares a name with the
    rows around it, so nothing below it correlates to the wrong one."""
    kind = KINDS[kind_name]
    assert kind.table is not None
    return kind, kind.table.alias()


def _ordering(order: Sequence[tuple[str, bool]], c: Columns) -> list[ColumnElement[Any]]:
    return [c[name].desc() if descending else c[name] for name, descending in order]


def _listed(ordered: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.json_agg(ordered), literal_column("'[]'::json"))


Filter = Callable[[Select[Any]], Select[Any]]


def _paging(page: EventPage | ExceptionPage) -> tuple[KeysetOrder, Filter]:
    """A page's ordering, and its filter as a function of a statement."""
    if isinstance(page, EventPage):
        return (NEWEST_FIRST if page.newest_first else CHRONOLOGICAL), page.where.apply
    return ORDERS[page.order], partial(page.where.apply, TENANT)


_driver_statements: OrderedDict[Hashable, DriverStatement] = OrderedDict()


async def render_directly(
    engine: AsyncEngine, scope: Scope, documents: Sequence[Document], now: datetime
) -> list[str] | None:
    """`DocumentRepository.render` outside a unit of work, straight on the driver (`db.direct`),
    for documents whose statement is already built; None when it is not (render them in a unit
    of work, which builds it)."""
    structures = tuple(_structure(document) for document in documents)
    statement = _driver_statements.get(structures)
    if statement is None:
        built = _statements.get(structures) if None not in structures else None
        if built is None:
            return None
        statement = _driver_statements[structures] = DriverStatement.compiled(built, engine.dialect)
        if len(_driver_statements) > STATEMENT_CACHE_SIZE:
            _driver_statements.popitem(last=False)
    return _texts(await fetch_row(engine, scope, statement, _parameters(documents, scope.tenant_id, now)))
