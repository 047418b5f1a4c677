"""Read documents built by PostgreSQL: one statement renders a whole nested selection as JSON.

The GraphQL layer describes what a client selected as *shapes* (objects, lists, pages and
the fields in each); this module turns the shapes into one SELECT of nested correlated
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
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Float,
    FromClause,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    extract,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from sentinai.db import models
from sentinai.repositories.base import Repository
from sentinai.repositories.events import CHRONOLOGICAL, NEWEST_FIRST, EventFilter
from sentinai.repositories.exceptions import ORDERS, ExceptionFilter
from sentinai.repositories.pagination import KeysetOrder, iso_timestamp_sql
from sentinai.repositories.sla import at_risk_interval

# ---------------------------------------------------------------- the shape vocabulary


@dataclass(frozen=True)
class Constant:
    """A fixed string, such as `__typename`."""

    value: str


@dataclass(frozen=True)
class Attribute:
    """A value of the row itself, by the name the row's kind gives it (see `ATTRIBUTES`)."""

    name: str


@dataclass(frozen=True)
class Related:
    """A to-one relation (an object or null) or a to-many one (a list), by name (see `RELATIONS`)."""

    name: str
    shape: ObjectShape


@dataclass(frozen=True)
class EventPage:
    """Which page of an exception's timeline: the arguments of `Exception.events`."""

    first: int
    after: str | None = None
    where: EventFilter = EventFilter()
    newest_first: bool = False


@dataclass(frozen=True)
class Paged:
    """A page of a to-many relation, rendered as a Relay connection."""

    name: str
    page: EventPage
    shape: PageShape


Field: TypeAlias = Constant | Attribute | Related | Paged


@dataclass(frozen=True)
class ObjectShape:
    kind: str
    fields: tuple[tuple[str, Field], ...]


@dataclass(frozen=True)
class Nodes:
    shape: ObjectShape


@dataclass(frozen=True)
class Edges:
    fields: tuple[tuple[str, Constant | Nodes | str], ...]
    """Per key: a constant, the node (`Nodes`), or "cursor"."""


@dataclass(frozen=True)
class PageInfo:
    fields: tuple[tuple[str, Constant | str], ...]
    """Per key: a constant, or one of hasNextPage, hasPreviousPage, startCursor, endCursor."""


@dataclass(frozen=True)
class TotalCount:
    pass


PageField: TypeAlias = Constant | Nodes | Edges | PageInfo | TotalCount


@dataclass(frozen=True)
class PageShape:
    fields: tuple[tuple[str, PageField], ...]


@dataclass(frozen=True)
class OneException:
    """`exception(exceptionId:)`: the object, or null."""

    exception_id: str
    shape: ObjectShape


@dataclass(frozen=True)
class ExceptionList:
    """`exceptions(filter:, orderBy:, first:, after:)`: a connection."""

    where: ExceptionFilter
    order: str
    first: int
    after: str | None
    shape: PageShape


Document: TypeAlias = OneException | ExceptionList


# ---------------------------------------------------------------- values of each kind of row

TENANT = bindparam("document_tenant", type_=String)
"""Statements are cached across requests and tenants, so the tenant is always a parameter."""
NOW = bindparam("document_now", type_=DateTime(timezone=True))
"""The request's instant, which SLA states are judged at."""

E, V = models.ExceptionRecord.__table__, models.ExceptionEvent.__table__
P, S, T = models.Playbook.__table__, models.PlaybookStep.__table__, models.ToolDefinition.__table__
R = models.RemediationPlan.__table__
Columns = Any  # a table or subquery's `.c`
Value = Callable[[Columns], ColumnElement[Any]]


def _sql_string(value: str) -> ColumnElement[str]:
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def _global_id(type_name: str, key: Callable[[Columns], ColumnElement[Any]]) -> Value:
    """Relay's id: base64 of `Type:key` (PostgreSQL wraps base64 at 76 characters; unwrap it)."""

    def render(c: Columns) -> ColumnElement[str]:
        raw = func.convert_to(_sql_string(type_name + ":") + cast(key(c), Text), _sql_string("UTF8"))
        return func.replace(func.encode(raw, _sql_string("base64")), literal_column("E'\\n'"), _sql_string(""))

    return render


def _column(name: str) -> Value:
    return lambda c: c[name]


def _timestamp(name: str) -> Value:
    return lambda c: iso_timestamp_sql(c[name])


def _enum_name(name: str) -> Value:
    """GraphQL enums are the stored lower-case values in upper case (checked in `schema.enums`)."""
    return lambda c: func.upper(cast(c[name], Text))


def _as_text(name: str) -> Value:
    """Decimals travel as strings, as Strawberry's Decimal scalar sends them."""
    return lambda c: cast(c[name], Text)


def _secret_names(c: Columns) -> ColumnElement[Any]:
    """The names of a tool's stored secrets, sorted by code point as Python's `sorted` does."""
    name = func.jsonb_object_keys(c.secret_config).table_valued("name").render_derived("secret")
    ordered = aggregate_order_by(name.c.name, name.c.name.collate("C"))
    return select(func.coalesce(func.json_agg(ordered), literal_column("'[]'::json"))).scalar_subquery()


def _plain(*names: str) -> dict[str, Value]:
    return {name: _column(name) for name in names}


def _sla_state(c: Columns) -> ColumnElement[str]:
    """`domain.sla.sla_state`'s rules in SQL, as `repositories.sla.sla_condition` has them."""
    at_risk = at_risk_interval(TENANT)
    return case(
        (c.sla_deadline.is_(None), literal_column("'NONE'", Text)),
        (c.resolved_at.is_not(None) & (c.resolved_at <= c.sla_deadline), literal_column("'MET'", Text)),
        (c.resolved_at.is_not(None), literal_column("'BREACHED'", Text)),
        (c.sla_deadline < NOW, literal_column("'BREACHED'", Text)),
        (c.sla_deadline <= NOW + at_risk, literal_column("'AT_RISK'", Text)),
        else_=literal_column("'ON_TRACK'", Text),
    )


def _sla_remaining(c: Columns) -> ColumnElement[int]:
    """Whole seconds to the deadline, truncated toward zero as Python's `int()` does."""
    seconds = func.trunc(extract("epoch", c.sla_deadline - NOW))
    return case((c.resolved_at.is_(None), cast(seconds, BigInteger)), else_=None)


def _sla_breached_at(c: Columns) -> ColumnElement[str]:
    breached = (c.resolved_at > c.sla_deadline) | (c.resolved_at.is_(None) & (c.sla_deadline < NOW))
    return case((breached, iso_timestamp_sql(c.sla_deadline)), else_=None)


ATTRIBUTES: dict[str, dict[str, Value]] = {
    "exception": {
        "id": _global_id("Exception", lambda c: c.exception_id),
        **_plain("exception_id", "domain", "type", "source_system", "entity", "owner", "summary", "attributes"),
        **_plain("enriched_context", "rca_hypothesis", "domain_pack_version", "policy_pack_version"),
        **{name: _timestamp(name) for name in ("sla_deadline", "resolved_at", "created_at", "updated_at")},
        "severity": _enum_name("severity"),
        "status": _enum_name("status"),
        "amount": _as_text("amount"),
        "current_step_order": _column("current_step"),
    },
    "sla": {  # computed from the exception's row: `Exception.sla` renders over the same columns
        "deadline": _timestamp("sla_deadline"),
        "remaining": _sla_remaining,
        "state": _sla_state,
        "breached_at": _sla_breached_at,
    },
    "event": {
        "id": _global_id("ExceptionEvent", lambda c: c.event_id),
        **_plain("event_id", "exception_id", "event_type", "actor_id", "payload", "state_change"),
        "actor_type": _enum_name("actor_type"),
        "created_at": _timestamp("created_at"),
    },
    "playbook": {
        "id": _global_id("Playbook", lambda c: c.playbook_id),
        **_plain("playbook_id", "name", "version", "description", "conditions"),
        "created_at": _timestamp("created_at"),
    },
    "step": {
        "id": _global_id("PlaybookStep", lambda c: c.step_id),
        **_plain("step_id", "playbook_id", "step_order", "name", "action_type", "params"),
    },
    "plan": {
        "id": _global_id("RemediationPlan", lambda c: c.plan_id),
        **_plain("plan_id", "exception_id", "root_cause", "action_type", "action_params", "requires_approval"),
        **_plain("proposed_by", "decided_by", "decision_note", "outcome_note"),
        **{name: _timestamp(name) for name in ("decided_at", "executed_at", "created_at", "updated_at")},
        "confidence": lambda c: cast(c.confidence, Float),  # a JSON number, as Python's float() gives it
        "risk_level": _enum_name("risk_level"),
        "status": _enum_name("status"),
    },
    "tool": {
        "id": _global_id("Tool", lambda c: c.tool_id),
        **_plain("tool_id", "name", "description", "config"),
        "type": _enum_name("type"),
        "secret_keys": _secret_names,
        "is_global": lambda c: c.tenant_id.is_(None),
        "created_at": _timestamp("created_at"),
    },
}


# ---------------------------------------------------------------- the statement


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
        arguments += [_sql_string(key), value]
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
    return dict(zip(ORDERS[document.order].bound_names(f"after_{n}"), ORDERS[document.order].decode(document.after)))


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
        after = f"after_{n}" if document.after is not None else None  # its values are bound at execution
        return self._page(keyset, rows, document.first, after, document.shape, total, after_is_bound=True)

    def _object(self, shape: ObjectShape, c: Columns) -> ColumnElement[Any]:
        return _json_object([(key, self._field(shape.kind, field, c)) for key, field in shape.fields])

    def _field(self, kind: str, field: Field, c: Columns) -> ColumnElement[Any]:
        if isinstance(field, Constant):
            return _sql_string(field.value)
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
        visible = or_(T.c.tenant_id == TENANT, T.c.tenant_id.is_(None))  # the tenant's, and global ones
        return (
            select(self._object(shape, T.c))
            .where(visible, T.c.tool_id == c.tool_id)
            .correlate(_outer(c))
            .scalar_subquery()
        )

    def _events(self, field: Paged, c: Columns) -> ColumnElement[Any]:
        page = field.page
        keyset = NEWEST_FIRST if page.newest_first else CHRONOLOGICAL
        of_the_exception = (V.c.tenant_id == TENANT, V.c.exception_id == c.exception_id)
        scoped = select(V).where(*of_the_exception).correlate(_outer(c))
        counted = select(func.count()).select_from(V).where(*of_the_exception).correlate(_outer(c))
        return self._page(
            keyset,
            page.where.apply(scoped),
            page.first,
            page.after,
            field.shape,
            page.where.apply(counted).scalar_subquery(),
        )

    # -- pages

    def _page(
        self,
        keyset: KeysetOrder,
        rows: Select[Any],
        first: int,
        after: str | None,
        shape: PageShape,
        total: ColumnElement[Any],
        *,
        after_is_bound: bool = False,
    ) -> ColumnElement[Any]:
        """A Relay connection over `first` rows after `after`, numbered in the keyset's order.

        One row more than asked for is read, so `hasNextPage` needs no second query. With
        `after_is_bound`, `after` names the parameters that carry the cursor's values.
        """
        numbered = rows.add_columns(keyset.row_number().label("position"), keyset.cursor_sql().label("cursor"))
        page = keyset.apply(numbered, after, first, bound=after_is_bound).lateral()
        on_page = page.c.position <= first
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        for key, field in shape.fields:
            if isinstance(field, Constant):
                pairs.append((key, _sql_string(field.value)))
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
            return _sql_string(part.value)
        if isinstance(part, Nodes):
            return self._object(part.shape, c)
        return c.cursor

    @staticmethod
    def _page_info(
        part: Constant | str, c: Columns, first: int, after: str | None, on_page: ColumnElement[bool]
    ) -> ColumnElement[Any]:
        if isinstance(part, Constant):
            return _sql_string(part.value)
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
