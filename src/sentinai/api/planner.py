"""Whole read operations answered by one SQL statement, when every field in them allows it.

graphql-core resolves a response field by field: for 50 exceptions with their timelines and
playbooks that is about 5,000 Python calls, most of a request's time. When every field an
operation selects is a catalogue field (`sentinai.catalog`: a column, a relation, the SLA) under
a plannable root, `plan` describes the selection as shapes and the document repository renders
all of it in one statement, as PostGraphile does.

The resolvers stay the contract, and the planner reads everything from what they declare:
- a field's Python name, arguments and defaults from its Strawberry definition, and its
  arguments converted by Strawberry's own `convert_arguments`, as the resolver receives them;
- what a root or paged field asks for from the very function its resolver calls (`ROOTS`,
  `PAGES`); when that function refuses an argument, the operation goes to the resolvers, so
  the error is theirs, word for word;
- who may read a field from its own permission classes (`resolvers.permissions.permitted`).
Anything else (a mutation, a field outside the catalogue such as `node`, `@defer`, a refused
guard or argument) is not planned, with the reason logged at debug level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from sentinai.api.memo import ByteMemo, MemoBounds, plan_bytes, syntax_bytes, text_length
from sentinai.catalog import BY_TYPE_NAME, Computed, Kind, Paged
from sentinai.context import Context
from sentinai.errors import DomainError
from sentinai.repositories import document_shapes as shapes
from sentinai.repositories.documents import MAX_KEYS_PER_OBJECT, render_directly
from sentinai.resolvers.exceptions import exception_list
from sentinai.resolvers.insights import entity_history_list, sla_breach_list, stats_query
from sentinai.resolvers.permissions import permitted
from sentinai.schema.exceptions import entity_history_page, similar_count, timeline_page
from sentinai.wire import RawJson

log = logging.getLogger(__name__)

ROOTS: dict[str, Callable[..., Any]] = {
    "exceptions": exception_list,
    "slaBreaches": sla_breach_list,
    "entityHistory": entity_history_list,
}
"""Root connections of exceptions, by field: the function the resolver calls for its page."""
ONE_EXCEPTION = "exception"
STATISTICS = "exceptionStats"
"""The statistics root: its arguments are read with `stats_query`, as its resolver reads them."""
PAGES: dict[tuple[str, str], Callable[..., Any]] = {
    ("exception", "events"): timeline_page,
    ("exception", "entity_history"): entity_history_page,
}
"""Paged relations, by (kind, field): the function the resolver calls for its page."""
COMPUTED_ARGUMENTS: dict[tuple[str, str], Callable[..., Any]] = {("exception", "similar"): similar_count}
"""Computed relations that take arguments, by (kind, field): the function the resolver reads them with."""
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


class NotPlannable(Exception):  # noqa: N818 - a signal inside this module, never raised out of it
    """Some part of the operation needs the field-by-field resolvers."""


@dataclass(frozen=True)
class RenderedField(RawJson):
    """JSON text PostgreSQL rendered for one root field, spliced into the response unparsed."""


class Planner:
    """Plans operations against one schema, reading field definitions from its Strawberry types."""

    def __init__(self, schema: Schema, bounds: MemoBounds | None = None) -> None:
        self.strawberry = schema
        self.schema: GraphQLSchema = schema._schema
        self.memo: ByteMemo[tuple[Any, ...], tuple[DocumentNode, dict[str, shapes.Document] | None]] = ByteMemo(
            "plans", bounds
        )
        """Plans by (parsed document, operation, role, variables' values); `plan` argues the key."""

    def plan(
        self, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, context: Context
    ) -> dict[str, shapes.Document] | None:
        """What to render per root response key, or None when the operation must be resolved field by field.

        Remembered per (parsed document, operation, variables, role) when the answer cannot depend on
        the request's instant: a refusal to plan, or a plan `instant_free` accepts (a list filtered by
        SLA state holds the instant it is judged at). The tenant is not in a plan (it is bound when
        rendered, in the caller's own transaction), and the guards a plan passed read only the role,
        so an entry stored for one tenant answers another exactly as a fresh plan would. An entry
        holds its document (its id is in the key), so it is sized as the document and its plan
        (`api.memo`), and it takes its storer's tenant's share.
        """
        key = _memo_key(document, variables, operation_name, context)
        if key is not None and (remembered := self.memo.get(key)) is not None and remembered[0] is document:
            return remembered[1]  # `is`: an id may be reused once its document is gone
        planned = self._planned(document, variables, operation_name, context)
        if key is not None and (planned is None or instant_free(planned)):
            size = syntax_bytes(document) + plan_bytes(text_length(document)) + len(key[3])
            self.memo.put(key, (document, planned), size, str(context.principal.tenant_id))  # type: ignore[union-attr]
        return planned

    def _planned(
        self, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, context: Context
    ) -> dict[str, shapes.Document] | None:
        try:
            return self._plan(document, variables, operation_name, context)
        except NotPlannable as reason:
            log.debug("answered field by field: %s", reason)
        except DomainError as refusal:
            log.debug("answered field by field: the resolvers word the refusal (%s)", refusal)
        return None

    async def render(self, documents: dict[str, shapes.Document], context: Context) -> dict[str, RenderedField]:
        """The planned root fields, rendered in the request's read transaction in one statement."""
        texts = await (await context.reader()).documents.render(list(documents.values()), context.now)
        return {key: RenderedField(text) for key, text in zip(documents, texts)}

    async def render_prepared(
        self, documents: dict[str, shapes.Document], context: Context
    ) -> dict[str, RenderedField]:
        """`render` for a prepared read: its statement run straight on the driver, in a snapshot
        of its own (`db.direct`), when it is already built."""
        texts = await render_directly(
            context.runtime.engine, context.tenant_scope, list(documents.values()), context.now
        )
        if texts is None:
            return await self.render(documents, context)
        return {key: RenderedField(text) for key, text in zip(documents, texts)}

    def _plan(
        self, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, context: Context
    ) -> dict[str, shapes.Document]:
        if context.principal is None or context.principal.tenant_id is None:
            raise NotPlannable("the caller has no tenant")
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            raise NotPlannable("not a single query operation")  # before building an executor
        executor = Executor.build(self.schema, document, raw_variable_values=variables, operation_name=operation_name)
        if isinstance(executor, list):
            raise NotPlannable("variables graphql-core refuses")
        query = self.schema.query_type
        assert query is not None
        collected = collect_fields(self.schema, executor.fragments, executor.variable_values, query, executor.operation)
        _refuse_deferral(collected.new_defer_usages)
        walk = _Walk(self, executor, context)
        return {key: walk.root(query, details) for key, details in collected.grouped_field_set.items()}

    @cached_property
    def _fields(self) -> dict[str, dict[str, StrawberryField]]:
        """Strawberry fields by GraphQL type name, then by GraphQL field name."""
        converter = self.strawberry.config.name_converter
        fields: dict[str, dict[str, StrawberryField]] = {}
        assert self.schema.query_type is not None
        for type_name in (self.schema.query_type.name, *BY_TYPE_NAME):
            definition = self.strawberry.get_type_by_name(type_name)
            assert isinstance(definition, StrawberryObjectDefinition)
            fields[type_name] = {converter.get_graphql_name(field): field for field in definition.fields}
        return fields

    def field(self, type_name: str, graphql_name: str) -> StrawberryField:
        return self._fields[type_name][graphql_name]

    def arguments(
        self, field: StrawberryField, graphql: GraphQLField, details: FieldDetailsList, executor: Executor
    ) -> dict:
        """The keyword arguments the field's resolver would receive: coerced by graphql-core,
        defaults applied, converted by Strawberry (input objects, enums) under Python names."""
        coerced = get_argument_values(graphql, details[0].node, executor.variable_values)
        registry = self.strawberry.schema_converter.scalar_registry
        return convert_arguments(coerced, field.arguments, scalar_registry=registry, config=self.strawberry.config)


def instant_free(documents: dict[str, shapes.Document]) -> bool:
    """Whether a plan holds nothing judged at the request's instant, so that it can be remembered:
    single exceptions (their SLA is judged when rendered), and lists and statistics not filtered by
    SLA state (the only filter that reads the instant; the one the plan holds is then never read)."""
    return all(_instant_free(document) for document in documents.values())


def _instant_free(document: shapes.Document) -> bool:
    if isinstance(document, shapes.OneException):
        return True
    where = document.query.where if isinstance(document, shapes.Statistics) else document.page.where
    return not where.sla_states


def _memo_key(
    document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, context: Context
) -> tuple[Any, ...] | None:
    principal = context.principal
    if principal is None or principal.tenant_id is None:
        return None
    try:
        values = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return (id(document), operation_name, principal.role, values)


class _Walk:
    """One operation's selection turned into shapes."""

    def __init__(self, planner: Planner, executor: Executor, context: Context) -> None:
        self.planner, self.executor, self.context = planner, executor, context

    def root(self, query: GraphQLObjectType, details: FieldDetailsList) -> shapes.Document:
        name = details[0].node.name.value
        if name not in (ONE_EXCEPTION, STATISTICS) and name not in ROOTS:
            raise NotPlannable(f"Query.{name} is answered by its resolver")
        field, graphql = self._checked(query.name, name), query.fields[name]
        arguments = self.planner.arguments(field, graphql, details, self.executor)
        if name == ONE_EXCEPTION:
            return shapes.OneException(arguments["exception_id"], self._object(graphql, details))
        if name == STATISTICS:
            shape = self._object(graphql, details)
            selected = {sub[0].node.name.value for sub in self._subfields(_named_object(graphql), details).values()}
            return shapes.Statistics(stats_query(self.context.now, **arguments, selected=selected), shape)
        page = ROOTS[name](self.context.now, **arguments)
        return shapes.ExceptionList(page, self._page(graphql, details))

    def _checked(self, type_name: str, graphql_name: str) -> StrawberryField:
        """The field's Strawberry definition, once its own guards let the caller read it."""
        field = self.planner.field(type_name, graphql_name)
        if not permitted(field, self.context.principal):
            raise NotPlannable(f"{type_name}.{graphql_name} refuses the caller: the resolvers word it")
        return field

    def _subfields(self, of: GraphQLObjectType, details: FieldDetailsList) -> dict[str, FieldDetailsList]:
        executor = self.executor
        collected = collect_subfields(
            executor.schema, executor.fragments, executor.variable_values, executor.operation, of, details
        )
        _refuse_deferral(collected.new_defer_usages)
        return collected.grouped_field_set

    def _object(self, field: GraphQLField, details: FieldDetailsList) -> shapes.ObjectShape:
        of = _named_object(field)
        kind = BY_TYPE_NAME.get(of.name)
        if kind is None:
            raise NotPlannable(f"{of.name} is not in the catalogue")
        selected = self._subfields(of, details)
        if len(selected) > MAX_KEYS_PER_OBJECT:
            raise NotPlannable(f"{len(selected)} keys on one {of.name}")
        return shapes.ObjectShape(kind.name, tuple((key, self._field(kind, of, sub)) for key, sub in selected.items()))

    def _field(self, kind: Kind, of: GraphQLObjectType, details: FieldDetailsList) -> shapes.Field:
        graphql_name = details[0].node.name.value
        if graphql_name == "__typename":
            return shapes.Constant(of.name)
        name = self._checked(of.name, graphql_name).python_name
        if name in kind.columns:
            return shapes.Attribute(name)
        relation = kind.relations.get(name)
        if relation is None:
            raise NotPlannable(f"{of.name}.{graphql_name} is answered by its resolver")
        graphql = of.fields[graphql_name]
        if isinstance(relation, Paged):
            page = PAGES[(kind.name, name)](**self._arguments(of, graphql_name, details))
            return shapes.Paged(name, page, self._page(graphql, details))
        if isinstance(relation, Computed):
            read = COMPUTED_ARGUMENTS.get((kind.name, name))
            argument = read(**self._arguments(of, graphql_name, details)) if read is not None else None
            return shapes.Computed(name, argument, self._object(graphql, details))
        return shapes.Related(name, self._object(graphql, details))  # to-one, to-many, through or embedded

    def _arguments(self, of: GraphQLObjectType, graphql_name: str, details: FieldDetailsList) -> dict:
        field = self.planner.field(of.name, graphql_name)
        return self.planner.arguments(field, of.fields[graphql_name], details, self.executor)

    def _page(self, field: GraphQLField, details: FieldDetailsList) -> shapes.PageShape:
        connection = _named_object(field)
        fields: list[tuple[str, shapes.PageField]] = []
        for key, sub in self._subfields(connection, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                fields.append((key, shapes.Constant(connection.name)))
            elif name == "nodes":
                fields.append((key, shapes.Nodes(self._object(connection.fields[name], sub))))
            elif name == "edges":
                fields.append((key, self._edges(connection.fields[name], sub)))
            elif name == "pageInfo":
                fields.append((key, self._page_info(connection.fields[name], sub)))
            elif name == "totalCount":
                fields.append((key, shapes.TotalCount()))
            else:
                raise NotPlannable(f"{connection.name}.{name}")
        return shapes.PageShape(tuple(fields))

    def _edges(self, field: GraphQLField, details: FieldDetailsList) -> shapes.Edges:
        edge = _named_object(field)
        parts: list[tuple[str, shapes.Constant | shapes.Nodes | str]] = []
        for key, sub in self._subfields(edge, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, shapes.Constant(edge.name)))
            elif name == "node":
                parts.append((key, shapes.Nodes(self._object(edge.fields[name], sub))))
            else:
                parts.append((key, "cursor"))
        return shapes.Edges(tuple(parts))

    def _page_info(self, field: GraphQLField, details: FieldDetailsList) -> shapes.PageInfo:
        info = _named_object(field)
        parts: list[tuple[str, shapes.Constant | str]] = []
        for key, sub in self._subfields(info, details).items():
            name = sub[0].node.name.value
            if name != "__typename" and name not in PAGE_INFO_FIELDS:
                raise NotPlannable(f"PageInfo.{name}")
            parts.append((key, shapes.Constant(info.name) if name == "__typename" else name))
        return shapes.PageInfo(tuple(parts))


def _refuse_deferral(usages: list) -> None:
    if usages:
        raise NotPlannable("@defer")


def _named_object(field: GraphQLField) -> GraphQLObjectType:
    of = field.type
    while isinstance(of, (GraphQLNonNull, GraphQLList)):
        of = of.of_type
    if not isinstance(of, GraphQLObjectType):
        raise NotPlannable(str(of))
    return of
