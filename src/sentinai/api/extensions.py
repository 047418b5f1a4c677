"""Schema extensions: answer plannable reads in one statement, close the request's reads, and
mask unexpected errors."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator

from graphql import ExecutionResult
from graphql.error import GraphQLError
from starlette.responses import Response
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from sentinai import telemetry
from sentinai.api.errors import with_code
from sentinai.api.planner import Planner, instant_free
from sentinai.api.prepared import PreparedReads
from sentinai.context import Context
from sentinai.db.faults import is_unavailable
from sentinai.errors import DomainError
from sentinai.repositories.document_shapes import Document

log = logging.getLogger("sentinai.errors")


class CloseReads(SchemaExtension):
    """Ends the request once the operation has finished, however it finished: a failure or a
    cancellation anywhere must not leave its transaction holding a pooled connection."""

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            context = self.execution_context.context
            if isinstance(context, Context):
                await context.close()

    async def on_stream_result(self, result: object) -> AsyncIterator[None]:
        """A subscription's result is complete before it is sent: its reads and its turn end
        here, so no connection, live slot or turn (`shares`) is held while a client takes it."""
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.end_turn()
            await context.reset_reads()
        yield


class Observed(SchemaExtension):
    """The operation's name and type for the request's record, inside a span of its own."""

    def on_operation(self) -> Iterator[None]:
        with telemetry.span("graphql.operation") as span:
            yield
            # Named only now: the document is parsed inside the operation.
            execution = self.execution_context
            try:
                name, kind = execution.operation_name, execution.operation_type.value
            except RuntimeError:  # no document: a request error
                name, kind = None, None
            span.set_attribute("graphql.operation.name", name or "")
            span.set_attribute("graphql.operation.type", kind or "")
            record = telemetry.current()
            if record is not None:
                record.operation, record.operation_type = name, kind


class DocumentReads(SchemaExtension):
    """Answers a read operation with one SQL statement when `Planner` can plan all of it;
    otherwise graphql-core resolves it field by field."""

    def __init__(self, planner: Planner, prepared: PreparedReads | None = None) -> None:
        self.planner, self.prepared = planner, prepared

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context) and execution.graphql_document is not None:
            documents = self.planner.plan(
                execution.graphql_document, execution.variables, execution.operation_name, context
            )
            if documents:
                execution.result = await self._render(documents, context)
                if execution.result is not None:
                    self._prepare(documents, context)
            record = telemetry.current()
            if record is not None and execution.operation_type == OperationType.QUERY:
                record.path = "one_statement" if execution.result is not None else "field_by_field"
        yield

    def _prepare(self, documents: dict[str, Document], context: Context) -> None:
        """Let the endpoint answer this read itself from now on (`api.prepared`)."""
        execution, cost = self.execution_context, context.cost  # priced before execution (`QueryCostLimiter`)
        if self.prepared is None or execution.query is None or cost is None or not instant_free(documents):
            return
        document = execution.graphql_document
        assert document is not None
        self.prepared.remember(
            execution.query, execution._provided_operation_name, execution.variables, context, document, documents, cost
        )

    async def _render(self, documents: dict[str, Document], context: Context) -> ExecutionResult | None:
        """The planned answer, or None to let the resolvers answer. A refusal (a cursor from
        another list) is theirs to word; any other failure is logged with an error id and the
        resolvers answer too, so a client sees the same data, or the same errors with their
        paths, on either path."""
        try:
            data = await self.planner.render(documents, context)
        except DomainError:
            await context.reset_reads()
            return None
        except Exception as error:
            if not is_unavailable(error):
                log.error("planned read failed (%s); answered field by field", uuid.uuid4().hex[:16], exc_info=error)
            await context.reset_reads()
            return None
        return ExecutionResult(data=data)


SUBSCRIPTIONS_ONLY = "WEBSOCKET_SUBSCRIPTIONS_ONLY"
SUBSCRIPTIONS_ONLY_MESSAGE = (
    "this WebSocket serves subscriptions only: send queries and mutations over HTTP (POST /graphql), "
    "behind its admission control and deadline"
)


def is_expected(error: GraphQLError) -> bool:
    """A client's mistake or a refusal, not a fault: logged in one INFO line, never masked. An
    operation type the transport does not run (a query on the WebSocket) is one."""
    original = error.original_error
    return original is None or isinstance(original, (DomainError, GraphQLError, InvalidOperationTypeError))


class MaskUnexpectedErrors(MaskErrors):
    """Expected failures keep their message and gain `extensions.code`. Anything else —
    SQL, constraint names, stack traces, hosts — is replaced by a message carrying an
    error id, and logged in full under that id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._worded(error) for error in errors]

    def _worded(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, InvalidOperationTypeError):  # only the WebSocket streams
            return GraphQLError(SUBSCRIPTIONS_ONLY_MESSAGE, extensions={"code": SUBSCRIPTIONS_ONLY})
        return self.anonymise_error(error) if self.should_mask_error(error) else with_code(error)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if is_unavailable(error.original_error):
            return self._unavailable(error)
        error_id = uuid.uuid4().hex[:16]
        log.error("unexpected error %s at %s", error_id, error.path, exc_info=error.original_error)
        return GraphQLError(
            message=f"Internal error. Quote error id {error_id} when reporting it.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "errorId": error_id},
        )

    def _unavailable(self, error: GraphQLError) -> GraphQLError:
        """The database is unreachable or the pool is exhausted: a clear "try again", and over HTTP
        a 503 with `Retry-After`. A subscription's response is its WebSocket, whose headers were
        sent with the handshake: it gets the error alone."""
        log.warning("database unavailable at %s: %s", error.path, type(error.original_error).__name__)
        response = getattr(self.execution_context.context, "response", None)
        if isinstance(response, Response):
            response.status_code = 503
            response.headers["Retry-After"] = "1"
        return GraphQLError(
            "Service temporarily unavailable; retry shortly.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "SERVICE_UNAVAILABLE"},
        )
