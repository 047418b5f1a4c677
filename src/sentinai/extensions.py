"""Schema extensions: close the request's reads, and mask unexpected errors."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from sentinai.db.faults import is_unavailable
from sentinai.errors import DomainError

log = logging.getLogger("sentinai.errors")


class CloseReads(SchemaExtension):
    """Ends the request's read-only transaction once the operation has finished."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if hasattr(context, "close"):
            await context.close()


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, (DomainError, GraphQLError))


class MaskUnexpectedErrors(MaskErrors):
    """Expected failures keep their message and gain `extensions.code`. Anything else —
    SQL, constraint names, stack traces, hosts — is replaced by a message carrying an
    error id, and logged in full under that id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self.anonymise_error(error) if self.should_mask_error(error) else _with_code(error) for error in errors]

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
        """The database is unreachable or the pool is exhausted: a clear "try again" and HTTP 503."""
        log.warning("database unavailable at %s: %s", error.path, type(error.original_error).__name__)
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
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


def _with_code(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError) and not (error.extensions or {}).get("code"):
        extensions = {**(error.extensions or {}), "code": original.code}
        if hasattr(original, "field"):
            extensions["field"] = original.field
        return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, original, extensions)
    return error
