"""What an operator sees: Prometheus metrics, OpenTelemetry traces and one JSON log line per request.

Every request to /graphql gets a `RequestRecord` (in a context variable) that the layers it
passes through fill in: the endpoint its status, tenant and refusals, the schema extensions its
operation, cost, read path and error codes. When the request ends the record becomes one log
line on `sentinai.requests`, observations of the metrics below, and the attributes of the
request's span. Tracing is off unless an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`);
its spans nest request → GraphQL operation → SQL statement.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from sqlalchemy import event

from sentinai.db.faults import sqlstate_of

access_log = logging.getLogger("sentinai.requests")

REQUEST_SECONDS = Histogram(
    "sentinai_graphql_request_duration_seconds",
    "Time to answer a /graphql request, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUERY_COST = Histogram(
    "sentinai_graphql_query_cost",
    "Cost of the operations priced (docs/hardening.md, cost model), by operation name.",
    ["operation"],
    buckets=(1, 10, 50, 100, 500, 1_000, 2_500, 5_000, 10_000),
)
REJECTED = Counter(
    "sentinai_requests_rejected_total", "Requests refused before or instead of running, by reason.", ["reason"]
)
READS = Counter("sentinai_reads_total", "Read operations by the path that answered them.", ["path"])
POOL_CONNECTIONS = Gauge(
    "sentinai_db_pool_connections",
    "Database connections of the pool (summed over live workers).",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "sentinai_db_pool_waiting",
    "Tasks waiting for a database connection (summed over live workers).",
    multiprocess_mode="livesum",
)
MEMO_BYTES = Gauge(
    "sentinai_memo_bytes",
    "Estimated bytes held by each memo of the request pipeline (summed over live workers; api.memo).",
    ["memo"],
    multiprocess_mode="livesum",
)
STATEMENT_TIMEOUTS = Counter("sentinai_db_statement_timeouts_total", "Statements cancelled by statement_timeout.")
RETRIES = Counter(
    "sentinai_mutation_retries_total", "Idempotent mutations run again after a transient fault.", ["operation"]
)
BATCH_FALLBACKS = Counter(
    "sentinai_batch_fallbacks_total",
    "Batch mutations whose set-based write failed in the database and ran item by item instead.",
    ["operation"],
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
MAX_OPERATION_LABELS = 200
_operation_labels: set[str] = set()


@dataclass
class RequestRecord:
    request_id: str
    method: str
    started: float = field(default_factory=time.perf_counter)
    status: int | None = None
    tenant: str | None = None
    role: str | None = None
    operation: str | None = None
    operation_type: str | None = None
    cost: int | None = None
    path: str | None = None
    """The read path that answered: `one_statement` or `field_by_field`."""
    refusal: str | None = None
    error_codes: list[str] = field(default_factory=list)
    error_ids: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.status is not None and self.status >= 500 or "INTERNAL" in self.error_codes:
            return "server_error"
        if self.refusal or (self.status is not None and self.status >= 400):
            return "refused"
        return "partial" if self.error_codes else "ok"

    def line(self) -> dict[str, Any]:
        return {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "requestId": self.request_id,
            "method": self.method,
            "tenant": self.tenant,
            "role": self.role,
            "operation": self.operation,
            "operationType": self.operation_type,
            "status": self.status,
            "outcome": self.outcome,
            "durationMs": round((time.perf_counter() - self.started) * 1000, 2),
            "cost": self.cost,
            "readPath": self.path,
            "errorCodes": self.error_codes or None,
            "errorIds": self.error_ids or None,
        }


CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("sentinai_request", default=None)


def request_id(offered: str | None) -> str:
    """The client's `X-Request-Id` when it is a plain token, else a new one."""
    return offered if offered and _REQUEST_ID.match(offered) else uuid.uuid4().hex


def current() -> RequestRecord | None:
    return CURRENT.get()


def note_errors(codes: list[str], error_ids: list[str]) -> None:
    record = CURRENT.get()
    if record is not None:
        record.error_codes += codes
        record.error_ids += error_ids


def refused(reason: str) -> None:
    REJECTED.labels(reason).inc()
    record = CURRENT.get()
    if record is not None:
        record.refusal = reason


def finish(record: RequestRecord, span: Span) -> None:
    seconds = time.perf_counter() - record.started
    label = _operation_label(record.operation)
    REQUEST_SECONDS.labels(label, record.outcome).observe(seconds)
    if record.cost is not None:
        QUERY_COST.labels(label).observe(record.cost)
    if record.path is not None:
        READS.labels(record.path).inc()
    logging_on = access_log.isEnabledFor(logging.INFO)
    if not (logging_on or _Tracing.enabled):
        return  # the request's hot path: nothing below is free
    line = {key: value for key, value in record.line().items() if value is not None}
    if _Tracing.enabled:
        for name, value in line.items():
            span.set_attribute(f"sentinai.{name}", value if isinstance(value, (str, int, float, bool)) else str(value))
        if record.outcome == "server_error":
            span.set_status(Status(StatusCode.ERROR))
    if logging_on:
        access_log.info(orjson.dumps(line).decode())


def _operation_label(name: str | None) -> str:
    """Operation names are the client's: a bounded set of plain names becomes labels."""
    if not name or not _OPERATION_NAME.match(name):
        return "anonymous"
    if name not in _operation_labels and len(_operation_labels) >= MAX_OPERATION_LABELS:
        return "other"
    _operation_labels.add(name)
    return name


# -- tracing


class _Tracing:
    tracer: Tracer = trace.NoOpTracer()
    provider: Any = None
    enabled = False


def configure_tracing(provider: Any | None) -> None:
    """Send spans to `provider` (an OpenTelemetry TracerProvider), or stop tracing with None."""
    _Tracing.tracer = provider.get_tracer("sentinai") if provider is not None else trace.NoOpTracer()
    _Tracing.provider, _Tracing.enabled = provider, provider is not None


def shutdown_tracing() -> None:
    """Export the spans still buffered (at the end of `sentinai serve`)."""
    if _Tracing.provider is not None:
        _Tracing.provider.shutdown()
    configure_tracing(None)


def json_request_log() -> None:
    """`sentinai.requests` writes each request's line as bare JSON on stderr (for log shippers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def tracing_from_environment(env: Any) -> None:
    """OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set; the
    exporter reads its other settings (headers, timeout) from the standard OTEL_* variables."""
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "sentinai")}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    configure_tracing(provider)


@contextmanager
def span(name: str, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[Span]:
    """A span, current for the code inside (and the tasks it starts), ended on every path."""
    with _Tracing.tracer.start_as_current_span(name, kind=kind) as started:
        yield started


def tracing() -> bool:
    return _Tracing.enabled


def start_statement_span(statement: str) -> Span | None:
    if not _Tracing.enabled:
        return None
    return _Tracing.tracer.start_span(
        "db.query", kind=SpanKind.CLIENT, attributes={"db.system": "postgresql", "db.statement": statement[:2000]}
    )


# -- the database


def statement_failed(error: BaseException) -> None:
    """Count a statement that ran out of time (query_canceled by `statement_timeout`)."""
    if sqlstate_of(error) == "57014":
        STATEMENT_TIMEOUTS.inc()


def observe_engine(engine: Any) -> None:
    """Statement timeouts are counted; with tracing on, every statement is a span."""
    sync_engine = engine.sync_engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is not None:
            context._sentinai_span = start_statement_span(statement)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = getattr(context, "_sentinai_span", None)
        if started is not None:
            started.end()

    def failed(exception_context: Any) -> None:
        statement_failed(exception_context.original_exception)
        started = getattr(exception_context.execution_context, "_sentinai_span", None)
        if started is not None:
            started.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            started.end()

    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or, under `serve --workers N`
    (which sets PROMETHEUS_MULTIPROC_DIR), every worker's together, whichever worker is asked."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def pool_state(engine: Any) -> None:
    """Read the pool's gauges now (at scrape time)."""
    pool = engine.sync_engine.pool
    in_use, idle = pool.checkedout(), pool.checkedin()
    POOL_CONNECTIONS.labels("in_use").set(in_use)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_CONNECTIONS.labels("overflow").set(max(0, pool.overflow()))
