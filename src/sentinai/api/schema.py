"""The GraphQL schema: root types composed from the resolver modules, and its extensions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLInterfaceType, GraphQLUnionType
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult, get_object_definition
from strawberry.types.graphql import OperationType

from sentinai.api.errors import error_code
from sentinai.api.extensions import CloseReads, DocumentReads, MaskUnexpectedErrors, Observed, is_expected
from sentinai.api.memo import ByteMemo, MemoBounds, syntax_bytes, text_bytes
from sentinai.api.planner import Planner
from sentinai.api.prepared import PreparedReads
from sentinai.api.query_cost import CostBudgets, QueryCostLimiter, ValidationMemo, memo_owner
from sentinai.config import Settings
from sentinai.resolvers.changes import ChangeQueries
from sentinai.resolvers.exceptions import ExceptionMutations, ExceptionQueries
from sentinai.resolvers.insights import InsightQueries
from sentinai.resolvers.packs import PackMutations, PackQueries
from sentinai.resolvers.playbooks import PlaybookMutations, PlaybookQueries
from sentinai.resolvers.remediation import RemediationMutations
from sentinai.resolvers.subscriptions import ChangeSubscriptions
from sentinai.resolvers.tenants import TenantMutations, TenantQueries
from sentinai.resolvers.webhooks import WebhookMutations, WebhookQueries
from sentinai.schema.scalars import SCALARS

Query = merge_types(
    "Query",
    (TenantQueries, ExceptionQueries, InsightQueries, PlaybookQueries, PackQueries, ChangeQueries, WebhookQueries),
)
Mutation = merge_types(
    "Mutation",
    (ExceptionMutations, RemediationMutations, PlaybookMutations, PackMutations, TenantMutations, WebhookMutations),
)

Subscription = merge_types("Subscription", (ChangeSubscriptions,))

get_object_definition(
    Subscription, strict=True
).description = (
    "Live streams over WebSocket (graphql-transport-ws; the key in connection_init). Each resumes from a position."
)
get_object_definition(Query, strict=True).description = "Reads. Everything is scoped to the tenant of your API key."
get_object_definition(Mutation, strict=True).description = (
    "Writes. Each field runs in its own transaction and returns its success type or a MutationError; "
    "a failure writes nothing."
)

client_errors = logging.getLogger("sentinai.client_errors")

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000


class ParsedDocuments(SchemaExtension):
    """Strawberry's ParserCache, bounded in bytes and per tenant (`api.memo`); the memo is the
    schema's own (Strawberry's is one `lru_cache` per process, counted in entries).

    Keyed by the text alone, which is safe across tenants: parsing reads only the text and the
    parse options (fixed for one schema), so another tenant's entry is exactly the document its
    own parse would give, and a document holds no data."""

    def __init__(self, memo: ByteMemo[str, DocumentNode]) -> None:
        self.memo = memo

    def on_parse(self) -> Iterator[None]:
        """A remembered document, or Strawberry parses (inside its own handling of syntax errors:
        raised here, before the phase, one would escape a WebSocket operation as a traceback)."""
        context = self.execution_context
        query = context.query
        context.graphql_document = self.memo.get(query) if query else None
        remembered = context.graphql_document is not None
        yield
        document = context.graphql_document
        if query and document is not None and not remembered:
            self.memo.put(query, document, text_bytes(query) + syntax_bytes(document), memo_owner(context.context))


class SentinaiSchema(strawberry.Schema):
    prepared_reads: PreparedReads | None = None
    """Reads the endpoint answers without this pipeline once it has answered them (`api.prepared`)."""
    budgets: CostBudgets | None = None
    """The tenants' cost budgets this schema's requests spend (`api.query_cost`)."""
    memos: dict[str, ByteMemo] = {}
    """Every memo of this schema's pipeline by name, for the metrics and the tests (`api.memo`)."""

    async def execute(  # noqa: PLR0917 - Strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """`execute` answers once (HTTP), so it never runs a subscription: those stream through
        `stream` on the WebSocket. Strawberry then refuses one with `InvalidOperationTypeError`,
        which `api.view` words as WEBSOCKET_REQUIRED."""
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """A client's mistake (a refused guard, a bad argument, a limit) is one INFO line; an
        unexpected error is logged in full, with its error id, by MaskUnexpectedErrors."""
        for error in errors:
            if is_expected(error):
                client_errors.info("%s %s at %s", error_code(error), error.message, error.path)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the abuse limits of `settings`: depth, aliases, tokens, cost and budget,
    introspection and field suggestions (both off in production)."""
    settings = settings or Settings()
    budgets = CostBudgets(settings.cost_budget, settings.cost_restore_rate, settings.max_query_cost)
    bounds = MemoBounds(settings.memo_bytes, settings.memo_tenant_share)
    parsed: ByteMemo[str, DocumentNode] = ByteMemo("documents", bounds)
    memo = ValidationMemo(bounds)
    extensions: list = [
        lambda: ParsedDocuments(parsed),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    extensions += [Observed, lambda: QueryCostLimiter(budgets, memo), MaskUnexpectedErrors, CloseReads]
    built = SentinaiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            relay_max_results=100, disable_field_suggestions=not settings.introspection, scalar_map=SCALARS
        ),
        extensions=extensions,
    )
    built.budgets = budgets
    if settings.document_reads:
        planner = Planner(built, bounds)
        prepared = built.prepared_reads = PreparedReads(planner, budgets, bounds)
        built.extensions = (*built.extensions, lambda: DocumentReads(planner, prepared))
        built.memos = {planner.memo.name: planner.memo, **prepared.memos}
    built.memos = {parsed.name: parsed, memo.memo.name: memo.memo, **built.memos}
    return built


def possible_types(built: strawberry.Schema) -> dict[str, list[str]]:
    """Apollo Client's `possibleTypes`: the object types behind each union and interface, which
    a client needs to read fragments on them when introspection is off (as in production)."""
    graphql_schema = built._schema
    abstract = [t for t in graphql_schema.type_map.values() if isinstance(t, (GraphQLUnionType, GraphQLInterfaceType))]
    return {
        t.name: sorted(member.name for member in graphql_schema.get_possible_types(t))
        for t in sorted(abstract, key=lambda t: t.name)
        if not t.name.startswith("__")
    }


schema = build_schema()
"""The development schema (introspection on): what `sentinai export-schema` writes."""
