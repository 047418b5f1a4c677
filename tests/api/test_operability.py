"""What an operator sees of every request: metrics at /metrics, an X-Request-Id, one JSON log
line, and (when tracing is configured) spans nesting request → GraphQL operation → SQL."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from sentinai import telemetry

pytestmark = pytest.mark.asyncio

EXCEPTIONS = "query Backlog { exceptions(first: 5) { totalCount nodes { exceptionId } } }"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "sentinai.requests"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure_tracing(provider)
    try:
        yield exporter
    finally:
        telemetry.shutdown_tracing()


async def test_metrics_count_requests_by_operation_and_outcome(gql, api_a):
    before = sample("sentinai_graphql_request_duration_seconds_count", operation="Backlog", outcome="ok")

    await gql.data(EXCEPTIONS, key=api_a.viewer)
    response = await gql.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = sample("sentinai_graphql_request_duration_seconds_count", operation="Backlog", outcome="ok")
    assert after == before + 1
    assert "sentinai_graphql_query_cost_bucket" in response.text
    assert 'sentinai_db_pool_connections{state="in_use"}' in response.text
    assert "sentinai_db_pool_waiting" in response.text
    assert "sentinai_db_statement_timeouts_total" in response.text
    assert "sentinai_mutation_retries_total" in response.text


async def test_rejections_are_counted_by_reason(gql, api_a):
    unauthenticated = sample("sentinai_requests_rejected_total", reason="unauthenticated")
    invalid = sample("sentinai_requests_rejected_total", reason="graphql_validation_failed")

    await gql.post("{ viewer { role } }", key="not-a-key", status=401)
    await gql.post("{ noSuchField }", key=api_a.viewer)

    assert sample("sentinai_requests_rejected_total", reason="unauthenticated") == unauthenticated + 1
    assert sample("sentinai_requests_rejected_total", reason="graphql_validation_failed") == invalid + 1


async def test_the_read_path_that_answered_is_counted(gql, api_a):
    query = f"{EXCEPTIONS} # {uuid.uuid4().hex}"  # a text no earlier request prepared
    planned, prepared = (
        sample("sentinai_reads_total", path="one_statement"),
        sample("sentinai_reads_total", path="prepared"),
    )

    await gql.data(query, key=api_a.viewer)
    await gql.data(query, key=api_a.viewer)

    assert sample("sentinai_reads_total", path="one_statement") == planned + 1
    assert sample("sentinai_reads_total", path="prepared") == prepared + 1


async def test_operation_names_cannot_grow_the_label_set_without_bound(gql, api_a):
    await gql.post("query with_a_very_long_name_" + "x" * 80 + " { viewer { role } }", key=api_a.viewer)

    assert sample("sentinai_graphql_request_duration_seconds_count", operation="anonymous", outcome="ok") >= 1


async def test_every_response_carries_a_request_id_and_a_plain_offered_one_is_kept(gql, api_a):
    headers = {"Authorization": f"Bearer {api_a.viewer}"}
    offered = await gql.http.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={**headers, "X-Request-Id": "trace-42"}
    )
    forged = await gql.http.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={**headers, "X-Request-Id": "a b\tc"}
    )
    refused = await gql.http.post("/graphql", json={"query": "{ viewer { role } }"})

    assert offered.headers["x-request-id"] == "trace-42"
    assert forged.headers["x-request-id"] != "a b\tc" and len(forged.headers["x-request-id"]) == 32
    assert refused.status_code == 401 and refused.headers["x-request-id"]


async def test_each_request_is_one_json_log_line(gql, api_a, caplog):
    caplog.set_level(logging.INFO, logger="sentinai.requests")
    response = await gql.http.post(
        "/graphql",
        json={"query": f"{EXCEPTIONS} # {uuid.uuid4().hex}"},  # not prepared yet: the pipeline's line
        headers={"Authorization": f"Bearer {api_a.viewer}", "X-Request-Id": "line-1"},
    )

    (line,) = [line for line in request_lines(caplog) if line["requestId"] == "line-1"]
    assert response.status_code == 200
    assert line["tenant"] == api_a.tenant_id
    assert line["role"] == "VIEWER"
    assert line["operation"] == "Backlog" and line["operationType"] == "query"
    assert line["status"] == 200 and line["outcome"] == "ok"
    assert line["cost"] > 0 and line["durationMs"] >= 0
    assert line["readPath"] == "one_statement"


async def test_a_failed_request_logs_its_error_codes_and_outcome(gql, api_a, caplog):
    caplog.set_level(logging.INFO, logger="sentinai.requests")
    await gql.http.post(
        "/graphql",
        json={"query": "{ exceptions(first: 1000) { totalCount } }"},
        headers={"Authorization": f"Bearer {api_a.viewer}", "X-Request-Id": "line-2"},
    )

    (line,) = [line for line in request_lines(caplog) if line["requestId"] == "line-2"]
    assert line["outcome"] in {"refused", "partial"}
    assert line["errorCodes"]


async def test_spans_nest_request_operation_and_sql(gql, api_a, spans):
    headers = {"Authorization": f"Bearer {api_a.viewer}"}
    await gql.http.post("/graphql", json={"query": EXCEPTIONS}, headers=headers)

    finished = spans.get_finished_spans()
    (request,) = [span for span in finished if span.name == "POST /graphql"]
    (operation,) = [span for span in finished if span.name == "graphql.operation"]
    statements = [span for span in finished if span.name == "db.query"]
    assert operation.parent.span_id == request.context.span_id
    assert operation.attributes["graphql.operation.name"] == "Backlog"
    assert statements and all(span.context.trace_id == request.context.trace_id for span in statements)
    assert any(span.parent.span_id == operation.context.span_id for span in statements)
    assert request.attributes["sentinai.tenant"] == api_a.tenant_id


async def test_no_spans_are_made_unless_tracing_is_configured(gql, api_a):
    assert not telemetry.tracing()
    assert telemetry.start_statement_span("SELECT 1") is None


async def test_tracing_is_configured_only_by_an_otlp_endpoint():
    telemetry.tracing_from_environment({})
    assert not telemetry.tracing()

    telemetry.tracing_from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
    try:
        assert telemetry.tracing()
    finally:
        telemetry.shutdown_tracing()


async def test_a_clients_mistake_is_one_info_line_without_a_traceback(gql, api_a, caplog):
    caplog.set_level(logging.INFO, logger="sentinai.client_errors")
    aliases = " ".join(f"a{n}: viewer {{ role }}" for n in range(40))

    await gql.post("{ apiKeys { keyId } }", key=api_a.viewer)
    await gql.post("{ " + aliases + " }", key=api_a.viewer, status=200)

    lines = [record for record in caplog.records if record.name.startswith("sentinai")]
    assert any("FORBIDDEN" in record.getMessage() for record in lines)
    assert all(record.levelno < logging.ERROR and record.exc_info is None for record in lines)
