"""Property-based fuzzing of the whole schema (hypothesis-graphql): schema-valid documents never
produce a server error, and malformed input always gets a clear client error."""

import warnings
from datetime import UTC

import graphql
import pytest
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning
from hypothesis_graphql import mutations, nodes, queries

from sentinai.api.schema import schema

pytestmark = pytest.mark.asyncio

EXAMPLES = 150
SDL = schema.as_str()


def _json_object(fields: dict) -> graphql.ObjectValueNode:
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=nodes.String(value))
            for key, value in fields.items()
        ]
    )


KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SCALARS = {
    "JSON": st.one_of(
        st.dictionaries(KEYS, st.text(max_size=12), max_size=3).map(_json_object),
        st.integers(-1000, 1000).map(nodes.Int),
        st.text(max_size=12).map(nodes.String),
    ),
    "UUID": st.uuids().map(lambda value: nodes.String(str(value))),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda value: nodes.String(value.isoformat())),
    "Decimal": st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(lambda value: nodes.String(str(value))),
}


def _draw(strategy, count: int) -> list[str]:
    """Documents drawn from a strategy (the requests run on the test's event loop, not in @given)."""
    drawn = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for _ in range(count):
            drawn.append(strategy.example())
    return drawn


def _server_error(body: dict, status: int) -> str | None:
    if status >= 500:
        return f"HTTP {status}"
    for error in body.get("errors", []):
        if error.get("extensions", {}).get("code") == "INTERNAL":
            return error["message"]
    return None


@pytest.mark.parametrize("kind", ["queries", "mutations"])
async def test_schema_valid_documents_never_cause_a_server_error(gql, api_a, kind, capsys):
    strategy = (queries if kind == "queries" else mutations)(SDL, custom_scalars=SCALARS, allow_x00=False)
    failures, statuses = [], {}
    for document in _draw(strategy, EXAMPLES):
        response = await gql.http.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {api_a.admin}"}
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        problem = _server_error(response.json(), response.status_code)
        if problem:
            failures.append((document, problem))
    assert failures == []
    with capsys.disabled():
        print(f"\n  fuzzed {kind}: {EXAMPLES} documents, 0 server errors; HTTP statuses {statuses}")


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
    response = await gql.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api_a.viewer}", "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500 or (response.status_code == 200 and "errors" in response.json())
    if response.status_code == 200:
        assert _server_error(response.json(), 200) is None
