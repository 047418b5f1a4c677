"""Abusive documents are refused before any resolver runs, with clear errors."""

import asyncio
import json
import time

import httpx
import pytest
import pytest_asyncio

from sentinai.api.app import Runtime, create_app
from sentinai.config import Settings
from sentinai.context import Context

pytestmark = pytest.mark.asyncio


@pytest.fixture
def reads(monkeypatch):
    """Counts how often any resolver opened the request's reads (0 = nothing executed)."""
    calls = {"count": 0}
    original = Context.reader

    async def counting(self):
        calls["count"] += 1
        return await original(self)

    monkeypatch.setattr(Context, "reader", counting)
    return calls


def _nested(depth: int) -> str:
    inner = "exceptionId"
    for _ in range(depth):
        inner = f"entityHistory(first: 1) {{ nodes {{ {inner} }} }}"
    return f'{{ exception(exceptionId: "X") {{ {inner} }} }}'


ABUSE = {
    "too deep": (_nested(12), "exceeds maximum operation depth"),
    "too many aliases": ("{ " + " ".join(f"a{n}: viewer {{ role }}" for n in range(40)) + " }", "aliases"),
    "too many tokens": ("{ viewer { " + "role " * 6000 + "} }", "token"),
    "too costly": (
        "{ exceptions(first: 100) { nodes { events(first: 100) { nodes { eventId } } "
        "entityHistory(first: 100) { nodes { exceptionId } } } } }",
        "Query cost",
    ),
}


@pytest.mark.parametrize("name", sorted(ABUSE))
async def test_an_abusive_document_is_refused_before_any_resolver_runs(gql, api_a, reads, name):
    document, message = ABUSE[name]
    errors = await gql.errors(document, key=api_a.viewer)
    assert message in errors[0]["message"]
    assert reads["count"] == 0


async def test_a_450_kib_document_is_refused_by_its_length_before_it_is_parsed(gql, api_a, reads, capsys):
    document = "{ viewer { " + "role " * (450 * 1024 // 5) + "} }"
    started = time.perf_counter()
    body = await gql.post(document, key=api_a.viewer, status=413)
    elapsed = (time.perf_counter() - started) * 1000
    assert body["errors"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE" and reads["count"] == 0
    with capsys.disabled():
        print(f"\n  450 KiB document refused in {elapsed:.1f} ms")


async def test_a_document_of_too_many_tokens_is_refused_before_anything_runs(gql, api_a, reads):
    document = "{ viewer { " + "role " * 6_000 + "} }"  # 30 KiB: within the length, past 5,000 tokens

    errors = await gql.errors(document, key=api_a.viewer)

    assert "token" in errors[0]["message"] and reads["count"] == 0


async def test_every_response_reports_its_cost(gql, api_a):
    body = await gql.post(
        "{ exceptions(first: 10) { nodes { exceptionId events(first: 5) { nodes { eventId } } } } }", key=api_a.viewer
    )
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 10 * (1 + 1 + 5 * 1)
    assert cost["throttleStatus"]["currentlyAvailable"] <= cost["throttleStatus"]["maximumAvailable"]


async def test_batched_requests_are_refused(gql, api_a):
    response = await gql.http.post(
        "/graphql", json=[{"query": "{ viewer { role } }"}] * 2, headers={"Authorization": f"Bearer {api_a.viewer}"}
    )
    assert response.status_code == 400


async def test_deeply_nested_json_is_refused(gql, api_a):
    variables: dict = {}
    for _ in range(40):
        variables = {"x": variables}
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { role } }", "variables": variables},
        headers={"Authorization": f"Bearer {api_a.viewer}"},
    )
    assert response.status_code == 400 and "deeper" in response.text


async def test_a_large_body_without_content_length_is_refused(gql, api_a):
    async def chunks():
        for _ in range(40):
            yield b" " * 32_768

    headers = {"Authorization": f"Bearer {api_a.viewer}", "Content-Type": "application/json"}
    response = await gql.http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413


@pytest_asyncio.fixture
async def strict_client(database, engine, api_a):
    """An app configured like production, with a tiny budget and one request at a time."""
    settings = Settings(
        **{
            **database.__dict__,
            "environment": "production",
            "introspection": False,
            "cost_budget": 30,
            "cost_restore_rate": 0.001,
            "max_concurrent_requests": 1,
            "auth_cache_seconds": 0.0,
        }
    )
    runtime = Runtime.build(settings, engine)
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://strict.test") as http:
        yield http, app


async def _post(http, key, query):
    return await http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"})


async def test_a_tenant_that_spends_its_budget_is_throttled_with_a_retry_hint(strict_client, api_a):
    http, _ = strict_client
    query = "{ exceptions(first: 20) { nodes { exceptionId } } }"
    assert "errors" not in (await _post(http, api_a.viewer, query)).json()
    throttled = (await _post(http, api_a.viewer, query)).json()["errors"][0]
    assert throttled["extensions"]["code"] == "THROTTLED" and throttled["extensions"]["retryAfterSeconds"] > 0


async def test_production_refuses_introspection_and_field_suggestions(strict_client, api_a):
    http, _ = strict_client
    introspection = (await _post(http, api_a.viewer, "{ __schema { types { name } } }")).json()
    assert "introspection" in introspection["errors"][0]["message"].lower()
    typo = (await _post(http, api_a.viewer, "{ exceptionz { totalCount } }")).json()
    assert "Did you mean" not in json.dumps(typo)
    assert (await http.get("/graphql", headers={"Accept": "text/html"})).status_code == 404


async def test_excess_load_is_shed_at_once_with_retry_after(strict_client, api_a):
    http, app = strict_client
    endpoint = next(route.app for route in app.routes if route.path == "/graphql")
    gate = endpoint.app if hasattr(endpoint, "app") else endpoint
    admission = next(value for value in vars(gate).values() if isinstance(value, asyncio.Semaphore))
    await admission.acquire()
    try:
        started = time.perf_counter()
        response = await _post(http, api_a.viewer, "{ viewer { role } }")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert time.perf_counter() - started < 2
    finally:
        admission.release()


async def test_an_exhausted_pool_answers_503_quickly_instead_of_hanging(database, api_a):
    from sentinai.db.engine import create_engine

    settings = Settings(
        **{
            **database.__dict__,
            "db_pool_size": 1,
            "db_max_overflow": 0,
            "db_pool_timeout": 0.3,
            "auth_cache_seconds": 0.0,
        }
    )
    runtime = Runtime.build(settings, create_engine(settings))
    app = create_app(runtime=runtime)
    try:
        async with (
            runtime.engine.connect(),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pool.test") as http,
        ):
            started = time.perf_counter()
            response = await _post(http, api_a.viewer, "{ viewer { role } }")
            assert response.status_code == 503 and response.headers["Retry-After"] == "1"
            assert time.perf_counter() - started < 2
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize(
    ("with_defaults", "literal"),
    [
        (
            "query($n: Int = 100) { exceptions(first: $n) { nodes { events(first: $n) { nodes { eventType } } } } }",
            "{ exceptions(first: 100) { nodes { events(first: 100) { nodes { eventType } } } } }",
        ),
        (
            'query($n: Int = 100) { entityHistory(entity: "E", first: $n) { nodes { entityHistory(first: $n) '
            "{ nodes { entityHistory(first: $n) { totalCount } } } } } }",
            '{ entityHistory(entity: "E", first: 100) { nodes { entityHistory(first: 100) '
            "{ nodes { entityHistory(first: 100) { totalCount } } } } } }",
        ),
    ],
)
async def test_variable_defaults_are_priced_as_the_values_execution_uses(gql, api_a, with_defaults, literal):
    priced = [(await gql.errors(query, key=api_a.viewer))[0] for query in (with_defaults, literal)]

    assert [error["extensions"]["code"] for error in priced] == ["QUERY_TOO_COSTLY"] * 2
    assert priced[0]["extensions"]["cost"] == priced[1]["extensions"]["cost"]


async def test_documents_too_long_to_parse_put_their_tenant_in_debt_and_it_is_then_refused_unread(
    runtime, api_a, api_b
):
    import httpx

    from tests.api.helpers import api_app

    app = api_app(runtime, cost_budget=1_000, cost_restore_rate=1.0)
    too_long = "{ viewer { role } }\n#" + "x" * 200_000  # 192 points of text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sentinai.test") as http:

        async def post(key: str, query: str) -> httpx.Response:
            return await http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"})

        statuses = [(await post(api_a.viewer, too_long)).status_code for _ in range(8)]
        refused = await post(api_a.viewer, "{ viewer { role } }")
        other = await post(api_b.viewer, "{ viewer { role } }")

    assert statuses[:5] == [413] * 5 and statuses[-1] == 429, statuses
    assert refused.status_code == 429 and refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert int(refused.headers["retry-after"]) >= 1
    assert other.status_code == 200 and other.json()["data"]["viewer"]["role"] == "VIEWER"
