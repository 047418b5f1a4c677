"""A read the pipeline has answered in one statement is answered again at the endpoint (`api.prepared`):
the same bytes, in the caller's own tenant, at the same price from the same budget, observed like
any other request; and anything it cannot answer cleanly goes back to the pipeline, which words it."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import literal_column, select

from sentinai.api.app import Runtime, create_app
from sentinai.api.memo import ByteMemo, MemoBounds
from sentinai.db.direct import DriverStatement, fetch_row
from sentinai.db.session import Scope, entering_scope_text
from tests.api.helpers import ingest, pipeline
from tests.graphql_client import GraphQLClient

pytestmark = pytest.mark.asyncio

DETAIL = """query Detail($id: String!) {
  exception(exceptionId: $id) {
    exceptionId summary status severity sla { state deadline }
    events(first: 5) { totalCount nodes { eventType payload } }
  }
}"""


def prepared_reads() -> float:
    return REGISTRY.get_sample_value("sentinai_reads_total", {"path": "prepared"}) or 0.0


def fresh(document: str) -> str:
    """The document under a text of its own, so no earlier test has prepared it."""
    return f"{document}\n# {uuid.uuid4().hex}"


async def send(gql: GraphQLClient, query: str, variables: dict, key: str) -> httpx.Response:
    body = json.dumps({"query": query, "variables": variables})  # ASCII: a lone surrogate as its escape
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return await gql.http.post("/graphql", content=body, headers=headers)


def without_budget_state(body: dict) -> dict:
    """The answer without what the budget holds now (it refills between two requests)."""
    body = json.loads(json.dumps(body))
    body.get("extensions", {}).get("cost", {}).get("throttleStatus", {}).pop("currentlyAvailable", None)
    return body


async def test_the_second_request_is_answered_at_the_endpoint_with_the_pipelines_answer(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-PREP-1", summary="prepared once")
    query = fresh(DETAIL)

    before = prepared_reads()
    first = await send(gql, query, {"id": "EXC-PREP-1"}, api_a.viewer)
    after_first = prepared_reads()
    second = await send(gql, query, {"id": "EXC-PREP-1"}, api_a.viewer)

    assert after_first == before, "the first request goes through the pipeline"
    assert prepared_reads() == after_first + 1
    assert second.status_code == first.status_code == 200
    assert second.headers["content-type"] == first.headers["content-type"]
    assert without_budget_state(second.json()) == without_budget_state(first.json())
    assert second.json()["data"]["exception"]["summary"] == "prepared once"


async def test_one_prepared_detail_serves_every_exception_id(gql, resolvers_only, api_a):
    for exception_id in ("EXC-PREP-2", "EXC-PREP-3"):
        await ingest(gql, api_a.operator, exception_id, summary=f"summary of {exception_id}")
    query = fresh(DETAIL)
    await send(gql, query, {"id": "EXC-PREP-2"}, api_a.viewer)

    before = prepared_reads()
    answers = {
        exception_id: (await send(gql, query, {"id": exception_id}, api_a.viewer)).json()
        for exception_id in ("EXC-PREP-3", "EXC-PREP-2", "EXC-NOT-THERE")
    }

    assert prepared_reads() == before + 3
    for exception_id, answer in answers.items():
        by_resolvers = await resolvers_only.post(query, {"id": exception_id}, key=api_a.viewer)
        assert answer["data"] == by_resolvers["data"], exception_id
    assert answers["EXC-NOT-THERE"]["data"] == {"exception": None}


async def test_a_prepared_read_answers_each_tenant_from_its_own_rows(gql, api_a, api_b):
    await ingest(gql, api_a.operator, "EXC-PREP-SHARED", summary="tenant a's")
    await ingest(gql, api_b.operator, "EXC-PREP-SHARED", summary="tenant b's")
    await ingest(gql, api_a.operator, "EXC-PREP-A-ONLY", summary="a only")
    query = fresh(DETAIL)

    answers = [
        (await send(gql, query, {"id": exception_id}, key)).json()["data"]["exception"]
        for exception_id, key in [
            ("EXC-PREP-SHARED", api_a.viewer),
            ("EXC-PREP-SHARED", api_b.viewer),
            ("EXC-PREP-A-ONLY", api_b.viewer),
            ("EXC-PREP-SHARED", api_a.viewer),
        ]
    ]

    assert [answer and answer["summary"] for answer in answers] == ["tenant a's", "tenant b's", None, "tenant a's"]


async def test_what_the_prepared_read_does_not_take_is_answered_by_the_pipeline_in_its_words(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-PREP-4")
    query = fresh(DETAIL)
    await send(gql, query, {"id": "EXC-PREP-4"}, api_a.viewer)
    cold = fresh(DETAIL)

    def outcome(body: dict) -> tuple:
        return body.get("data"), [error["extensions"]["code"] for error in body.get("errors", [])]

    refused = [{"id": "EXC\u0000"}, {"id": "\ud800"}, {"id": 42}, {"id": None}, {}, {"id": ["EXC-PREP-4"]}]
    for variables in [*refused, {"id": "EXC-PREP-4", "unused": 1}]:
        prepared = (await send(gql, query, variables, api_a.viewer)).json()
        by_pipeline = (await send(gql, cold, variables, api_a.viewer)).json()
        assert outcome(prepared) == outcome(by_pipeline), variables
    for variables in refused:
        assert "INTERNAL" not in outcome((await send(gql, query, variables, api_a.viewer)).json())[1]
        assert (await send(gql, query, variables, api_a.viewer)).json().get("errors"), variables


async def test_prepared_reads_spend_the_tenants_budget_and_are_refused_when_it_is_spent(runtime, api_a):
    settings = replace(runtime.settings, cost_budget=100, cost_restore_rate=0.001)
    frugal = Runtime(settings, runtime.engine, runtime.session_factory, runtime.authenticator, runtime.clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=frugal)), base_url="http://sentinai.test"
    ) as http:
        client = GraphQLClient(http, "")
        query = "query One($id: String!) { exception(exceptionId: $id) { exceptionId } }"
        answers = [(await send(client, query, {"id": "EXC-ANY"}, api_a.viewer)).json() for _ in range(120)]

    answered = [answer for answer in answers if "errors" not in answer]
    refused = [answer for answer in answers if "errors" in answer]
    cost = answered[0]["extensions"]["cost"]["requestedQueryCost"]
    assert len(answered) == 100 // cost
    assert [a["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for a in answered[:3]] == [
        100 - cost,
        100 - 2 * cost,
        100 - 3 * cost,
    ]
    assert {error["extensions"]["code"] for answer in refused for error in answer["errors"]} == {"THROTTLED"}


async def test_a_prepared_read_is_logged_and_counted_like_any_other(gql, api_a, caplog):
    query = fresh(DETAIL)
    await send(gql, query, {"id": "EXC-ANY"}, api_a.viewer)

    with caplog.at_level("INFO", logger="sentinai.requests"):
        await send(gql, query, {"id": "EXC-ANY"}, api_a.viewer)

    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sentinai.requests"]
    assert line["operation"] == "Detail"
    assert line["operationType"] == "query"
    assert line["readPath"] == "prepared"
    assert line["cost"] > 0
    assert line["tenant"] == api_a.tenant_id


async def test_a_prepared_read_is_one_statement_in_a_read_only_snapshot_of_its_own(gql, count_statements, api_a):
    query = fresh(DETAIL)
    await send(gql, query, {"id": "EXC-ANY"}, api_a.viewer)

    with count_statements as counted:
        await send(gql, query, {"id": "EXC-ANY"}, api_a.viewer)

    # Before them, the key's lookup (uncached in tests) in its own transaction.
    *_, scope, document = counted.statements
    assert scope.startswith(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config('role', E'sentinai_app'"
    )
    assert "json_build_object" in document
    assert sum("json_build_object" in statement for statement in counted.statements) == 1


async def test_a_failed_direct_read_discards_its_connection_instead_of_pooling_it(engine, api_a):
    failing = DriverStatement.compiled(select(literal_column("1/0")), engine.dialect)
    pooled_before = engine.sync_engine.pool.checkedin()

    with pytest.raises(Exception, match="division by zero"):
        await fetch_row(engine, Scope.tenant(api_a.tenant_id), failing, {})

    assert engine.sync_engine.pool.checkedout() == 0
    assert engine.sync_engine.pool.checkedin() <= pooled_before
    async with engine.connect() as connection:  # every pooled connection is outside any transaction
        driver = (await connection.get_raw_connection()).driver_connection
        assert not driver.is_in_transaction()


async def test_a_prepared_list_shows_what_was_written_after_it_was_prepared(gql, api_a):
    query = fresh(
        "query Recent($entity: String) {"
        " exceptions(first: 3, filter: {entity: $entity}) { totalCount nodes { exceptionId } } }"
    )
    variables = {"entity": "CPTY-PREPARED"}
    await ingest(gql, api_a.operator, "EXC-PREP-L1", entity="CPTY-PREPARED")
    first = (await send(gql, query, variables, api_a.viewer)).json()["data"]["exceptions"]

    await ingest(gql, api_a.operator, "EXC-PREP-L2", entity="CPTY-PREPARED")
    before = prepared_reads()
    second = (await send(gql, query, variables, api_a.viewer)).json()["data"]["exceptions"]

    assert prepared_reads() == before + 1, "a plan is remembered, never an answer"
    assert (first["totalCount"], second["totalCount"]) == (1, 2)
    assert [node["exceptionId"] for node in second["nodes"]] == ["EXC-PREP-L2", "EXC-PREP-L1"]


async def test_many_values_of_one_list_do_not_push_out_the_entry_that_serves_every_id(gql, api_a, monkeypatch):
    prepared = pipeline(gql.http._transport.app).prepared_reads
    page_entry = 6 * 1024  # a page's entry is about 5 KiB (`api.memo`): this memo holds eight of them
    monkeypatch.setattr(prepared, "_by_values", ByteMemo("prepared_by_values", MemoBounds(8 * page_entry, 1.0)))
    detail, page = fresh(DETAIL), fresh("query Page($first: Int) { exceptions(first: $first) { totalCount } }")
    await send(gql, detail, {"id": "EXC-ANY"}, api_a.viewer)
    for first in range(1, 21):  # twenty entries, one per value, each answered twice
        await send(gql, page, {"first": first}, api_a.viewer)
        await send(gql, page, {"first": first}, api_a.viewer)

    before = prepared_reads()
    await send(gql, detail, {"id": "EXC-OTHER"}, api_a.viewer)

    assert prepared_reads() == before + 1


async def test_a_list_filtered_by_a_list_of_values_is_prepared_and_read_on_the_driver(gql, api_a, count_statements):
    query = fresh("{ exceptions(first: 5, filter: {status: [OPEN, ANALYZING], severity: [HIGH]}) { totalCount } }")
    first = (await send(gql, query, {}, api_a.viewer)).json()

    before = prepared_reads()
    with count_statements as counted:
        second = (await send(gql, query, {}, api_a.viewer)).json()

    assert prepared_reads() == before + 1
    assert second["data"] == first["data"]
    assert any(statement.startswith("BEGIN ISOLATION LEVEL") for statement in counted.statements)


@pytest.mark.parametrize("tenant_id", ["plain", "it's", "back\\slash", "quote'\\'mix", "ünïcødé"])
async def test_the_scope_written_into_the_begin_message_is_the_value_itself(engine, tenant_id):
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        await driver.execute(f"BEGIN; {entering_scope_text(Scope.tenant(tenant_id))}")
        try:
            assert await driver.fetchval("SELECT current_setting('app.tenant_id')") == tenant_id
            assert await driver.fetchval("SELECT current_user") == "sentinai_app"
        finally:
            await driver.execute("ROLLBACK")


async def test_when_a_prepared_read_has_answered_its_connection_is_back_in_the_pool_outside_any_transaction(
    gql, engine, api_a
):
    query = fresh(DETAIL)
    for _ in range(3):  # the second and third are prepared: their read ends after the answer is sent
        await send(gql, query, {"id": "EXC-ANY"}, api_a.viewer)

    assert engine.sync_engine.pool.checkedout() == 0
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert not driver.is_in_transaction()
