"""Hypothesis strategies for read operations over the whole read schema.

An operation is built from the GraphQL schema itself: every field of `Query` and of the types
below it, with arguments drawn from plausible and edge values (`first` 0 and 100, cursors
from earlier answers, filters over the data the test wrote), under aliases, inline and named
fragments, `@include`/`@skip` with variables, `__typename`, and selections that keep only a
count, only a type name or only `pageInfo`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)
from hypothesis import strategies as st

from sentinai.catalog import BY_TYPE_NAME

MAX_DEPTH = 5
READ_ROOTS_WEIGHTED = ("exceptions", "exception", "slaBreaches", "entityHistory", "exceptionStats")
"""The roots the one-statement path plans, drawn more often than the others."""


@dataclass
class Pools:
    """Values the operations draw from: what the test wrote, and cursors seen in earlier answers."""

    exception_ids: list[str]
    entities: list[str]
    event_types: list[str]
    node_ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=lambda: ["not-a-cursor"])

    def remember(self, body: Any) -> None:
        """Keep the cursors and ids of an answer, for later operations to page and look up."""
        if isinstance(body, dict):
            for key, value in body.items():
                if key in ("cursor", "endCursor", "startCursor") and isinstance(value, str):
                    if value not in self.cursors:
                        self.cursors.append(value)
                elif key == "id" and isinstance(value, str) and value not in self.node_ids:
                    self.node_ids.append(value)
                else:
                    self.remember(value)
        elif isinstance(body, list):
            for item in body:
                self.remember(item)


@dataclass
class Operation:
    """A document being built: its variables and named fragments accumulate as fields are drawn.
    A `plannable` one keeps to the fields the catalogue lets the planner render, so that most
    operations exercise the one-statement path rather than falling back to the resolvers."""

    plannable: bool = False
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (type, value)
    fragments: dict[str, str] = field(default_factory=dict)

    def variable(self, graphql_type: str, value: Any) -> str:
        name = f"v{len(self.variables)}"
        self.variables[name] = (graphql_type, value)
        return f"${name}"

    def text(self, selection: str) -> str:
        declared = ", ".join(f"${name}: {kind}" for name, (kind, _) in self.variables.items())
        head = f"query Generated({declared})" if declared else "query Generated"
        return head + " { " + selection + " }" + "".join(f" {text}" for text in self.fragments.values())

    def values(self) -> dict[str, Any]:
        return {name: value for name, (_, value) in self.variables.items()}


def _pick(draw: st.DrawFn, pool: list[Any]) -> Any:
    """One item of a pool that grows during the run. Drawn as an index, so a replayed example
    makes the same draws whatever the pool holds by then (Hypothesis requires it)."""
    return pool[draw(st.integers(0, 999)) % len(pool)]


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, _Enum):
        return value.name
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


@dataclass(frozen=True)
class _Enum:
    name: str


def _argument_value(draw: st.DrawFn, pools: Pools, name: str, graphql_type: Any) -> Any:
    named = get_named_type(graphql_type)
    if name == "first":
        return draw(st.sampled_from([None, 0, 1, 2, 3, 5, 20, 100, 101, -1]))
    if name == "after":
        return None if draw(st.booleans()) else _pick(draw, pools.cursors)
    if name == "exceptionId":
        return draw(st.sampled_from([*pools.exception_ids, "NO-SUCH-EXCEPTION"]))
    if name == "entity":
        return draw(st.sampled_from([*pools.entities, "nobody"]))
    if name == "eventTypes":
        return draw(st.one_of(st.none(), st.lists(st.sampled_from(pools.event_types), max_size=3)))
    if name == "id":
        return _pick(draw, [*pools.node_ids, "bm90IGFuIGlk"])
    if isinstance(named, GraphQLInputObjectType):
        return _input_object(draw, pools, named)
    return _plain_value(draw, pools, named)


def _input_object(draw: st.DrawFn, pools: Pools, of: GraphQLInputObjectType) -> dict[str, Any] | None:
    if not isinstance(of, GraphQLInputObjectType) or draw(st.integers(0, 4)) == 0:
        return None
    chosen = draw(st.lists(st.sampled_from(sorted(of.fields)), unique=True, max_size=3))
    return {name: _filter_value(draw, pools, name, of.fields[name].type) for name in chosen}


def _filter_value(draw: st.DrawFn, pools: Pools, name: str, graphql_type: Any) -> Any:
    if name in ("entity",):
        return draw(st.sampled_from(pools.entities))
    if name in ("domain",):
        return draw(st.sampled_from(["Finance", "Healthcare"]))
    if name == "owner":
        return draw(st.sampled_from(["ana", "ßø", "nobody"]))
    return _plain_value(
        draw, pools, get_named_type(graphql_type), listed=isinstance(_unwrap(graphql_type), GraphQLList)
    )


def _unwrap(graphql_type: Any) -> Any:
    return graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type


def _plain_value(draw: st.DrawFn, pools: Pools, named: Any, listed: bool = False) -> Any:
    if isinstance(named, GraphQLEnumType):
        values = [_Enum(name) for name in named.values]
        return (
            draw(st.lists(st.sampled_from(values), min_size=1, max_size=2)) if listed else draw(st.sampled_from(values))
        )
    kind = getattr(named, "name", "")
    if kind == "Boolean":
        return draw(st.booleans())
    if kind == "Int":
        return draw(st.sampled_from([1, 2, 3, 0]))
    if kind == "DateTime":
        return draw(
            st.sampled_from(["2026-03-01T10:00:00+00:00", "2026-03-01T11:30:00.5-05:00", "2020-01-01T00:00:00Z"])
        )
    if kind in ("String", "ID"):
        value = draw(st.sampled_from(["SettlementFailure", "Murex", "Finance", "x", "Ünïcödé"]))
        return [value] if listed else value
    return None


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


class ReadOperations:
    """`operation(pools)` draws (document text, variables) over a schema's `Query`."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema

    def operation(self, pools: Pools) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        @st.composite
        def build(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
            operation = Operation(plannable=draw(st.integers(0, 3)) > 0)
            query = self.schema.query_type
            assert query is not None
            names = list(READ_ROOTS_WEIGHTED) if operation.plannable else sorted(query.fields)
            roots = draw(
                st.lists(
                    st.one_of(st.sampled_from(READ_ROOTS_WEIGHTED), st.sampled_from(names)), min_size=1, max_size=3
                )
            )
            selections = [
                self._field(draw, pools, operation, query, name, depth=1, index=n) for n, name in enumerate(roots)
            ]
            return operation.text(" ".join(selections)), operation.values()

        return build()

    def _field(
        self, draw: st.DrawFn, pools: Pools, operation: Operation, parent: Any, name: str, depth: int, index: int
    ) -> str:
        definition: GraphQLField = parent.fields[name]
        alias = f"a{index}_{depth}: " if draw(st.booleans()) or index else ""
        arguments = self._arguments(draw, pools, operation, definition)
        named = get_named_type(definition.type)
        sub = ""
        if not isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
            sub = " { " + self._selection(draw, pools, operation, named, depth + 1) + " }"
        text = f"{alias}{name}{arguments}{sub}"
        return self._wrapped(draw, operation, parent, text)

    def _arguments(self, draw: st.DrawFn, pools: Pools, operation: Operation, definition: GraphQLField) -> str:
        given = []
        for name, argument in sorted(definition.args.items()):
            required = isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
            if not required and draw(st.integers(0, 2)) == 0:
                continue
            value = _argument_value(draw, pools, name, argument.type)
            if value is None and required:
                value = _argument_value(draw, pools, name, argument.type) or "x"
            if name == "after" and value is not None and draw(st.booleans()):
                given.append(f"{name}: {operation.variable('String', value)}")
            else:
                given.append(f"{name}: {_literal(value)}")
        return "(" + ", ".join(given) + ")" if given else ""

    def _selection(self, draw: st.DrawFn, pools: Pools, operation: Operation, of: Any, depth: int) -> str:
        if isinstance(of, (GraphQLUnionType, GraphQLInterfaceType)):
            members = self.schema.get_possible_types(of)
            member = draw(st.sampled_from(sorted(members, key=lambda t: t.name)))
            return (
                "__typename ... on "
                + member.name
                + " { "
                + self._selection(draw, pools, operation, member, depth)
                + " }"
            )
        if _is_connection(of):
            return self._connection(draw, pools, operation, of, depth)
        kind = BY_TYPE_NAME.get(of.name)
        answerable = {name for name in of.fields if not (operation.plannable and kind and _resolver_only(kind, name))}
        scalars = [name for name, f in of.fields.items() if _leaf(f) and name in answerable]
        objects = (
            [name for name, f in of.fields.items() if not _leaf(f) and name in answerable] if depth < MAX_DEPTH else []
        )
        shape = draw(st.sampled_from(["typename", "scalars", "mixed", "mixed", "mixed"]))
        if shape == "typename" or not (scalars or objects):
            return "__typename"
        chosen = draw(st.lists(st.sampled_from(sorted(scalars)), min_size=1, max_size=6, unique=True))
        if shape == "mixed" and objects:
            chosen += draw(st.lists(st.sampled_from(sorted(objects)), max_size=2, unique=True))
        if draw(st.booleans()):
            chosen.append("__typename")
        return " ".join(
            "__typename" if name == "__typename" else self._field(draw, pools, operation, of, name, depth, n)
            for n, name in enumerate(chosen)
        )

    def _connection(self, draw: st.DrawFn, pools: Pools, operation: Operation, of: Any, depth: int) -> str:
        parts = draw(
            st.lists(
                st.sampled_from(["totalCount", "__typename", "pageInfo", "nodes", "edges"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        node_type = get_named_type(of.fields["nodes"].type)
        texts = []
        for part in parts:
            if part == "pageInfo":
                info = draw(
                    st.lists(
                        st.sampled_from(["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]),
                        min_size=1,
                        max_size=4,
                        unique=True,
                    )
                )
                texts.append("pageInfo { " + " ".join(info) + " }")
            elif part == "nodes":
                texts.append("nodes { " + self._selection(draw, pools, operation, node_type, depth + 1) + " }")
            elif part == "edges":
                node = self._selection(draw, pools, operation, node_type, depth + 1)
                texts.append("edges { cursor " + draw(st.sampled_from(["", "__typename "])) + "node { " + node + " } }")
            else:
                texts.append(part)
        return " ".join(texts)

    def _wrapped(self, draw: st.DrawFn, operation: Operation, parent: Any, text: str) -> str:
        """Sometimes under a fragment or a directive: both paths must collect fields alike."""
        how = draw(st.sampled_from(["plain", "plain", "plain", "inline", "named", "include", "skip"]))
        if how == "inline":
            return "... on " + parent.name + " { " + text + " }"
        if how == "named":
            name = f"F{len(operation.fragments)}"
            operation.fragments[name] = f"fragment {name} on {parent.name} {{ {text} }}"
            return "..." + name
        if how in ("include", "skip"):
            flag = operation.variable("Boolean!", draw(st.booleans()))
            return f"... @{how}(if: {flag}) {{ {text} }}"
        return text


def _resolver_only(kind: Any, graphql_name: str) -> bool:
    python_name = "".join("_" + c.lower() if c.isupper() else c for c in graphql_name)
    return python_name in kind.resolver_only


def _leaf(field: GraphQLField) -> bool:
    named = get_named_type(field.type)
    required = [a for a in field.args.values() if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined]
    return isinstance(named, (GraphQLScalarType, GraphQLEnumType)) and not required
