"""Schema-wide document fuzzing (hypothesis-graphql): any schema-valid document, with hostile
literals in every argument, never produces a server error; malformed requests get a clear
client error."""

from __future__ import annotations

import math

import graphql
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from sentinai.api.schema import schema
from tests.hardening.fuzzing import (
    GRAPHQL,
    TALLIES,
    Tally,
    encode,
    internal_errors,
    literal_key,
    open_server_bug,
    send,
)
from tests.hardening.hostile import DECIMAL_EDGES, HOSTILE_JSON, INSTANTS, TEXT, UUID_GARBAGE, Raw

EXAMPLES = {"queries": 150, "mutations": 150}
SDL = schema.as_str()


def literal_node(value: object) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal. A non-finite float is written as `1e400`, which reads
    as infinity: a document cannot spell NaN."""
    if isinstance(value, Raw):
        return graphql.IntValueNode(value=value.wire.decode()) if value.wire.isdigit() else nodes.String("\ufffd")
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value) if math.isfinite(value) else "1e400")
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([literal_node(item) for item in value])
    assert isinstance(value, dict)
    fields = [
        graphql.ObjectFieldNode(name=graphql.NameNode(value=literal_key(key)), value=literal_node(v))
        for key, v in value.items()
    ]
    return nodes.Object(fields)


def _literals(values: st.SearchStrategy) -> st.SearchStrategy[graphql.ValueNode]:
    return values.filter(lambda value: open_server_bug(value) is None).map(literal_node)


SCALARS = {
    "JSON": _literals(HOSTILE_JSON),
    "UUID": _literals(st.one_of(st.uuids().map(str), UUID_GARBAGE)),
    "DateTime": _literals(st.one_of(INSTANTS, TEXT)),
    "Decimal": _literals(st.one_of(DECIMAL_EDGES, TEXT)),
}
STRATEGIES = {"queries": queries, "mutations": mutations}
ROOTS = {"queries": GRAPHQL.query_type, "mutations": GRAPHQL.mutation_type}


def documents(kind: str, field: str) -> st.SearchStrategy[graphql.DocumentNode]:
    """Documents selecting `field` (as syntax trees: a hostile literal may not parse back)."""
    return STRATEGIES[kind](SDL, fields=[field], custom_scalars=SCALARS, allow_x00=True, print_ast=lambda tree: tree)


def root_fields(document: graphql.DocumentNode) -> set[str]:
    [operation] = document.definitions
    return {selection.name.value for selection in operation.selection_set.selections}


@pytest.mark.parametrize("kind", ["queries", "mutations"])
def test_schema_valid_documents_never_cause_a_server_error(run, gql, api_a, kind, capsys):
    tally = TALLIES[f"documents/{kind}"] = Tally()
    fields = sorted(ROOTS[kind].fields)
    for field in fields:  # every root field gets its share of the examples, so coverage is certain

        @settings(max_examples=max(4, EXAMPLES[kind] // len(fields)), deadline=None)
        @given(document=documents(kind, field))
        def example(document):
            status, answer = run(send(gql, api_a.admin, encode(graphql.print_ast(document), {})))
            errors = answer.get("errors") or [{}]
            tally.record(status, answer, errors[0].get("extensions", {}).get("code", "data"))
            tally.examples += 1
            tally.fields.update(root_fields(document))
            assert internal_errors(answer) == [], answer

        example()

    with capsys.disabled():
        print(tally.line(f"{kind} documents", len(ROOTS[kind].fields)))
    assert set(tally.fields) == set(ROOTS[kind].fields)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"query": 42}',
        b'{"query": "{ exception(exceptionId: 1) { id } }"}',
        b'{"query": "query { node(id: \\"!!!\\") { id } }"}',
        b'{"query": "{ exceptions(after: \\"@@\\") { totalCount } }"}',
        b'{"query": "{ viewer { role }", "variables": "nope"}',
        b'{"query": "mutation { ingestException(input: {}) { __typename } }"}',
    ],
)
async def test_malformed_requests_get_clear_client_errors(gql, api_a, body):
    status, answer = await send(gql, api_a.viewer, body)

    assert 400 <= status < 500 or (status == 200 and "errors" in answer)
    assert internal_errors(answer) == []
