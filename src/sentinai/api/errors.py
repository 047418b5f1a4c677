"""The `extensions.code` of every error the server produces (the list is in docs/api.md)."""

from __future__ import annotations

from graphql import GraphQLError

from sentinai.errors import DomainError

LIMIT_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases", "TOO_MANY_ALIASES"),
    ("token limit", "QUERY_TOO_LARGE"),
    ("Syntax Error", "GRAPHQL_PARSE_FAILED"),
)


def error_code(error: GraphQLError) -> str:
    """The error's `extensions.code`: every error the server produces has one (docs/api.md)."""
    code = (error.extensions or {}).get("code")
    if code:
        return str(code)
    if isinstance(error.original_error, DomainError):
        return error.original_error.code
    for words, limit_code in LIMIT_CODES:
        if words in error.message:
            return limit_code
    return "GRAPHQL_VALIDATION_FAILED" if error.path is None else "GRAPHQL_EXECUTION_FAILED"


def with_code(error: GraphQLError) -> GraphQLError:
    """The error with its code (and, for a refused input, the field) in `extensions`."""
    original = error.original_error
    extensions = {**(error.extensions or {}), "code": error_code(error)}
    if isinstance(original, DomainError) and hasattr(original, "field"):
        extensions.setdefault("field", original.field)
    return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, original, extensions)
