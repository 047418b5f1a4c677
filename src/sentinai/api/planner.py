"""Whole read operations answered by one SQL statement, when every field in them allows it.

graphql-core resolves a response field by field: for 50 exceptions with their timelines and
playbooks that is about 5,000 Python calls, most of a request's time. When every field an
operation selects is one PostgreSQL can render (`exceptions` and `exception`, their columns,
SLA, timeline page, playbook, steps, tools and remediation plans), `plan` describes the selection as shapes and the
document repository renders all of it in one statement, as PostGraphile does.

Anything else (a mutation, a field with its own query such as `similar` or `entityHistory`, `@defer`,
an argument the resolvers would refuse, a platform-admin caller) is not planned: `plan`
returns None and graphql-core resolves the operation as before, so errors, guards and
messages stay those of the resolvers. Arguments go through the resolvers' own checks
(`page_size`, `repository_filter`, cursor decoding) before anything is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

from sentinai.context import Context
from sentinai.errors import DomainError
from sentinai.repositories import document_shapes as shapes
from sentinai.repositories.document_columns import ATTRIBUTES
from sentinai.repositories.documents import MAX_KEYS_PER_OBJECT, RELATIONS
from sentinai.repositories.events import EventFilter
from sentinai.repositories.pagination import page_size
from sentinai.resolvers.exceptions import repository_filter
from sentinai.schema.enums import TimelineOrder
from sentinai.schema.exceptions import ExceptionFilter

KINDS = {
    "Exception": "exception",
    "ExceptionEvent": "event",
    "Playbook": "playbook",
    "PlaybookStep": "step",
    "Tool": "tool",
    "Sla": "sla",
    "RemediationPlan": "plan",
}
ROOTS = ("exceptions", "exception")
PAGE_INFO_FIELDS = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}


class NotPlannable(Exception):  # noqa: N818 - a signal inside this module, never raised out of it
    """Some part of the operation needs the field-by-field resolvers."""


@dataclass(frozen=True)
class RenderedField:
    """JSON text PostgreSQL rendered for one root field, spliced into the response unparsed."""

    json: str


class Planner:
    """Plans operations against one schema; field names map to the Python attributes of its types."""

    def __init__(self, schema: Schema) -> None:
        self.schema: GraphQLSchema = schema._schema
        self._python_names = {
            type_name: self._attribute_names(schema, type_name) for type_name in (*KINDS, "ExceptionFilter")
        }

    @staticmethod
    def _attribute_names(schema: Schema, type_name: str) -> dict[str, str]:
        definition = schema.get_type_by_name(type_name)
        converter = schema.config.name_converter
        names = {converter.get_graphql_name(field): field.python_name for field in definition.fields}  # type: ignore[union-attr]
        return {**names, "id": "id"} if "id" in names else names  # Relay's `id` is `_id` in Python

    def plan(
        self, document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, context: Context
    ) -> dict[str, shapes.Document] | None:
        """What to render per root response key, or None when the operation must be resolved field by field."""
        principal = context.principal
        if principal is None or principal.is_platform_admin or principal.tenant_id is None:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            return None  # before building an executor: mutations never plan
        executor = Executor.build(self.schema, document, raw_variable_values=variables, operation_name=operation_name)
        if isinstance(executor, list):
            return None  # bad variables: graphql-core reports them
        query = self.schema.query_type
        assert query is not None
        collected = collect_fields(self.schema, executor.fragments, executor.variable_values, query, executor.operation)
        try:
            self._refuse_deferral(collected.new_defer_usages)
            roots = collected.grouped_field_set.items()
            return {key: self._root(executor, query, details, context) for key, details in roots}
        except (NotPlannable, DomainError):
            return None

    async def render(self, documents: dict[str, shapes.Document], context: Context) -> dict[str, RenderedField]:
        """The planned root fields, rendered in the request's read transaction in one statement."""
        texts = await (await context.reader()).documents.render(list(documents.values()), context.now)
        return {key: RenderedField(text) for key, text in zip(documents, texts)}

    # -- roots

    def _root(
        self, executor: Executor, query: GraphQLObjectType, details: FieldDetailsList, context: Context
    ) -> shapes.Document:
        name = details[0].node.name.value
        if name not in ROOTS:
            raise NotPlannable(name)
        field = query.fields[name]
        arguments = get_argument_values(field, details[0].node, executor.variable_values)
        if name == "exceptions":
            given = self._input(ExceptionFilter, "ExceptionFilter", arguments["filter"])
            where, first = repository_filter(given, context.now), page_size(arguments["first"])
            page = self._page(executor, field, details)
            return shapes.ExceptionList(where, arguments["orderBy"].value, first, arguments["after"], page)
        return shapes.OneException(arguments["exceptionId"], self._object(executor, field, details))

    def _input(self, cls: type, type_name: str, coerced: dict[str, Any] | None) -> Any:
        if coerced is None:
            return None
        names = self._python_names[type_name]
        return cls(**{names[key]: value for key, value in coerced.items()})

    # -- selections

    def _subfields(self, executor: Executor, of: GraphQLObjectType, details: FieldDetailsList) -> dict[str, Any]:
        collected = collect_subfields(
            self.schema, executor.fragments, executor.variable_values, executor.operation, of, details
        )
        self._refuse_deferral(collected.new_defer_usages)
        return collected.grouped_field_set

    @staticmethod
    def _refuse_deferral(usages: list) -> None:
        if usages:
            raise NotPlannable("@defer")

    def _object(self, executor: Executor, field: GraphQLField, details: FieldDetailsList) -> shapes.ObjectShape:
        of = _named_object(field)
        kind, names = KINDS.get(of.name), self._python_names.get(of.name, {})
        if kind is None:
            raise NotPlannable(of.name)
        selected = self._subfields(executor, of, details)
        if len(selected) > MAX_KEYS_PER_OBJECT:
            raise NotPlannable(f"{len(selected)} keys on one {of.name}")
        fields: list[tuple[str, shapes.Field]] = []
        for key, sub in selected.items():
            graphql_name = sub[0].node.name.value
            if graphql_name == "__typename":
                fields.append((key, shapes.Constant(of.name)))
                continue
            name = names.get(graphql_name)
            if name in ATTRIBUTES[kind]:
                fields.append((key, shapes.Attribute(name)))
            elif (kind, name) in RELATIONS:
                fields.append((key, shapes.Related(name, self._object(executor, of.fields[graphql_name], sub))))
            elif (kind, name) == ("exception", "events"):
                fields.append((key, self._events(executor, of.fields[graphql_name], sub)))
            else:
                raise NotPlannable(f"{of.name}.{graphql_name}")
        return shapes.ObjectShape(kind, tuple(fields))

    def _events(self, executor: Executor, field: GraphQLField, details: FieldDetailsList) -> shapes.Paged:
        arguments = get_argument_values(field, details[0].node, executor.variable_values)
        where = EventFilter(tuple(arguments["eventTypes"]) if arguments["eventTypes"] else None, arguments["actorType"])
        newest_first = arguments["order"] == TimelineOrder.NEWEST_FIRST
        page = shapes.EventPage(page_size(arguments["first"]), arguments["after"], where, newest_first)
        return shapes.Paged("events", page, self._page(executor, field, details))

    def _page(self, executor: Executor, field: GraphQLField, details: FieldDetailsList) -> shapes.PageShape:
        connection = _named_object(field)
        fields: list[tuple[str, shapes.PageField]] = []
        for key, sub in self._subfields(executor, connection, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                fields.append((key, shapes.Constant(connection.name)))
            elif name == "nodes":
                fields.append((key, shapes.Nodes(self._object(executor, connection.fields[name], sub))))
            elif name == "edges":
                fields.append((key, self._edges(executor, connection.fields[name], sub)))
            elif name == "pageInfo":
                fields.append((key, self._page_info(executor, connection.fields[name], sub)))
            elif name == "totalCount":
                fields.append((key, shapes.TotalCount()))
            else:
                raise NotPlannable(f"{connection.name}.{name}")
        return shapes.PageShape(tuple(fields))

    def _edges(self, executor: Executor, field: GraphQLField, details: FieldDetailsList) -> shapes.Edges:
        edge = _named_object(field)
        parts: list[tuple[str, shapes.Constant | shapes.Nodes | str]] = []
        for key, sub in self._subfields(executor, edge, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                parts.append((key, shapes.Constant(edge.name)))
            elif name == "node":
                parts.append((key, shapes.Nodes(self._object(executor, edge.fields[name], sub))))
            else:
                parts.append((key, "cursor"))
        return shapes.Edges(tuple(parts))

    def _page_info(self, executor: Executor, field: GraphQLField, details: FieldDetailsList) -> shapes.PageInfo:
        info = _named_object(field)
        parts: list[tuple[str, shapes.Constant | str]] = []
        for key, sub in self._subfields(executor, info, details).items():
            name = sub[0].node.name.value
            parts.append((key, shapes.Constant(info.name) if name == "__typename" else name))
        assert all(part in PAGE_INFO_FIELDS for _, part in parts if isinstance(part, str))
        return shapes.PageInfo(tuple(parts))


def _named_object(field: GraphQLField) -> GraphQLObjectType:
    of = field.type
    while isinstance(of, (GraphQLNonNull, GraphQLList)):
        of = of.of_type
    if not isinstance(of, GraphQLObjectType):
        raise NotPlannable(str(of))
    return of
