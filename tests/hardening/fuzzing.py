"""What the fuzzers share: the fields they target (discovered from the schema), the documents and
bodies they send, recognising a server error, and the tally each fuzzer prints.

Targets come from the schema, so a new mutation or read argument is fuzzed without anyone
remembering to add it; only the platform-admin mutations are left out, by name, and a test pins
that list to the fields `PlatformAdmin` guards.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from sentinai.api.schema import schema
from sentinai.resolvers.permissions import PlatformAdmin
from tests.hardening.hostile import Raw, wire_json

GRAPHQL = schema._schema
PLATFORM_MUTATIONS = frozenset({"createTenant", "setTenantStatus", "publishDomainPack", "registerGlobalTool"})
"""Guarded by PlatformAdmin: a tenant key only ever gets FORBIDDEN from them."""
EXCEPTION_ARGUMENT_FIELDS = ("events", "similar", "entityHistory")
"""Fields of `Exception` that take arguments, read through `exception(exceptionId:)`."""
IDEMPOTENT_ALWAYS = frozenset({"ingestException", "recordExceptionEvent"})
IDEMPOTENT_WITH_EVENT_ID = frozenset(
    {"assignException", "transitionException", "attachPlaybook", "advancePlaybookStep"}
)
OPEN_SERVER_BUGS: dict[str, Callable[[Any], bool]] = {}
"""Values the server still answers with HTTP 500 or an INTERNAL error, each pinned by the strict
xfail it names in test_fuzzer_findings.py; the fuzzers skip examples holding one so that they keep
guarding everything else. Empty: every finding so far is fixed and is a named regression test."""
MUTATION_SELECTION = "__typename ... on MutationError { code message } ... on ValidationFailed { field }"


def platform_admin_mutations() -> set[str]:
    definition = schema.schema_converter.type_map["Mutation"].definition
    return {
        schema.config.name_converter.get_graphql_name(field)
        for field in definition.fields
        if any(issubclass(guard, PlatformAdmin) for guard in field.permission_classes)
    }


def exception_argument_fields() -> set[str]:
    return {name for name, field in GRAPHQL.get_type("Exception").fields.items() if field.args}


@dataclass(frozen=True)
class Target:
    """A field to fuzz, reached through `path` (outermost first), every argument on the way given."""

    name: str
    operation: str
    path: tuple[tuple[str, Any], ...]
    selection: str

    @property
    def field(self) -> str:
        return self.path[-1][0]

    @property
    def arguments(self) -> dict[str, Any]:
        return {name: argument for _, field in self.path for name, argument in field.args.items()}

    def request(self, values: dict[str, Any], inline: frozenset[str] = frozenset()) -> tuple[str, dict[str, Any]]:
        """The document and its variables: each argument a variable, or a literal when in `inline`."""
        definitions: list[str] = []
        variables: dict[str, Any] = {}
        selection = self.selection
        for depth, (name, graphql_field) in reversed(list(enumerate(self.path))):
            arguments = _arguments(graphql_field, values, inline, definitions, variables)
            outer = "__typename " if depth < len(self.path) - 1 else ""
            selection = f"{name}{arguments} {{ {outer}{selection} }}"
        declared = f"({', '.join(definitions)})" if definitions else ""
        return f"{self.operation} Fuzz{declared} {{ {selection} }}", variables


def _arguments(graphql_field: Any, values: dict, inline: frozenset[str], definitions: list, variables: dict) -> str:
    """`(a: $a, b: "literal")`, declaring each variable it uses (a left-out value is left out)."""
    written = []
    for name, argument in graphql_field.args.items():
        if name not in inline:
            definitions.append(f"${name}: {_variable_type(argument)}")
            written.append(f"{name}: ${name}")
            if name in values:
                variables[name] = values[name]
        elif name in values:
            written.append(f"{name}: {literal(values[name], argument.type)}")
    return f"({', '.join(written)})" if written else ""


def _variable_type(argument: Any) -> str:
    """The argument's type; a non-null argument with a default may be left out, so its variable is nullable."""
    if isinstance(argument.type, GraphQLNonNull) and argument.default_value is not Undefined:
        return str(argument.type.of_type)
    return str(argument.type)


def _read_selection(field: Any) -> str:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType) and {"totalCount", "nodes"} <= set(named.fields):
        return "__typename totalCount nodes { __typename }"
    return "__typename"


def mutation_targets() -> list[Target]:
    fields = GRAPHQL.mutation_type.fields
    return [
        Target(f"Mutation.{name}", "mutation", ((name, fields[name]),), MUTATION_SELECTION)
        for name in sorted(set(fields) - PLATFORM_MUTATIONS)
    ]


def read_targets() -> list[Target]:
    targets = [
        Target(f"Query.{name}", "query", ((name, field),), _read_selection(field))
        for name, field in sorted(GRAPHQL.query_type.fields.items())
        if field.args
    ]
    lookup = ("exception", GRAPHQL.query_type.fields["exception"])
    for name in EXCEPTION_ARGUMENT_FIELDS:
        field = GRAPHQL.get_type("Exception").fields[name]
        targets.append(Target(f"Exception.{name}", "query", (lookup, (name, field)), _read_selection(field)))
    return targets


def replays_are_no_ops(field: str, values: dict[str, Any]) -> bool:
    """Whether sending the same request again must change nothing."""
    given_id = isinstance(values.get("input"), dict) and values["input"].get("eventId") is not None
    return field in IDEMPOTENT_ALWAYS or (field in IDEMPOTENT_WITH_EVENT_ID and given_id)


# -- literals and bodies


def literal(value: Any, graphql_type: Any = None) -> str:
    """A drawn value as a GraphQL literal; `graphql_type` tells enum values from strings."""
    named = get_named_type(graphql_type) if graphql_type is not None else None
    if isinstance(value, Raw):
        return value.wire.decode() if value.wire.isdigit() else '"\\udcff"'
    if isinstance(value, float) and not math.isfinite(value):  # a document cannot spell NaN; 1e400 reads as infinity
        return "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "1e400"
    if isinstance(value, str) and isinstance(named, GraphQLEnumType) and value in named.values:
        return value
    if isinstance(value, list):
        return "[" + ", ".join(literal(item, _item_type(graphql_type)) for item in value) + "]"
    if isinstance(value, dict):
        fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
        pairs = (
            f"{literal_key(key)}: {literal(item, getattr(fields.get(key), 'type', None))}"
            for key, item in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(value)  # null, booleans, numbers and strings (GraphQL escapes strings as JSON does)


def _item_type(graphql_type: Any) -> Any:
    nullable = get_nullable_type(graphql_type) if graphql_type is not None else None
    return nullable.of_type if is_list_type(nullable) else None


def literal_key(key: str) -> str:
    """Object literal keys must be GraphQL names."""
    cleaned = "".join(char for char in key if char.isascii() and (char.isalnum() or char == "_"))
    return cleaned if cleaned and not cleaned[0].isdigit() else f"k{cleaned}"


def encode(query: str, variables: dict[str, Any]) -> bytes:
    """The body as Python's encoder writes it, with any `Raw` value spliced in as its bytes."""
    return wire_json({"query": query, "variables": variables})


def open_server_bug(value: Any) -> str | None:
    """The test pinning a failure the server still has on some leaf of `value`, or None."""
    if isinstance(value, (dict, list)):
        children = value.values() if isinstance(value, dict) else value
        return next((bug for child in children if (bug := open_server_bug(child))), None)
    return next((test for test, holds in OPEN_SERVER_BUGS.items() if holds(value)), None)


def _oversized_pack_version(leaf: Any) -> bool:
    """A global id of a policy or domain pack whose version fits 64 bits but not 32."""
    try:
        kind, _, key = base64.b64decode(leaf, validate=True).decode().partition(":")
    except (TypeError, ValueError):
        return False
    version = key.rpartition("@")[2] if kind == "DomainPack" else key
    canonical = re.fullmatch(r"[1-9][0-9]{9,17}", version) is not None  # what the node loader parses
    return kind in ("PolicyPack", "DomainPack") and canonical and int(version) >= 2**31


async def send(gql, key: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = await gql.http.post("/graphql", content=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text, body[:2000])
    assert response.headers["content-type"].startswith("application/json"), (response.text, body[:2000])
    return response.status_code, response.json()


def internal_errors(value: Any) -> list[Any]:
    """Every error, top-level or union member, coded INTERNAL."""
    if isinstance(value, list):
        return [found for item in value for found in internal_errors(item)]
    if not isinstance(value, dict):
        return []
    here = [value] if value.get("code") == "INTERNAL" or value.get("extensions", {}).get("code") == "INTERNAL" else []
    return here + [found for item in value.values() for found in internal_errors(item)]


def failed(body: dict[str, Any], field: str) -> bool:
    """A request error, or a MutationError member for `field`."""
    result = (body.get("data") or {}).get(field)
    return bool(body.get("errors")) or result is None or "code" in result


def outcome(body: dict[str, Any], field: str) -> str:
    if body.get("errors"):
        return body["errors"][0].get("extensions", {}).get("code", "GRAPHQL")
    result = (body.get("data") or {}).get(field)
    return result["__typename"] if isinstance(result, dict) else "list" if isinstance(result, list) else "null"


@dataclass
class Tally:
    """What a fuzzer sent and got, across all its examples."""

    examples: int = 0
    fields: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    internal: int = 0

    def record(self, status: int, body: dict[str, Any], result: str) -> None:
        self.statuses[status] += 1
        self.outcomes[result] += 1
        self.internal += len(internal_errors(body))

    def line(self, kind: str, total_fields: int) -> str:
        statuses = dict(sorted(self.statuses.items()))
        common = ", ".join(f"{name} {count}" for name, count in self.outcomes.most_common(6))
        return (
            f"\n  fuzzed {kind}: {self.examples} examples, {sum(self.statuses.values())} requests, "
            f"{len(self.fields)}/{total_fields} fields covered, HTTP statuses {statuses}, "
            f"{self.internal} INTERNAL; most common results: {common}"
        )


TALLIES: dict[str, Tally] = {}
"""Per fuzzer, across its examples (a Hypothesis example cannot see the others)."""
