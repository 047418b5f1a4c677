"""Prepared reads: a read the pipeline has already answered in one statement is answered again
at the endpoint, without the pipeline.

For a detail view (W2) Strawberry's request pipeline — parse cache, nine extensions entered per
phase, validation, pricing, planning, graphql-core's executor — costs more Python than the
database spends answering. None of it can change its verdict for the same document, variables
and role: the schema is fixed, validation and the input guard read only the document and the
variables, the price reads the same, and the plan's guards read only the role. So once the
pipeline has validated, priced, planned and answered an operation in one statement, the endpoint
remembers the plan and its price (`PreparedReads.remember`) and answers the next such request
itself: it takes the price from the tenant's budget, renders the plan in the caller's tenant and
read transaction, and writes the same response.

Remembered per (document text, operation name, role) and either the variables' values or, when
the variables are only the `exceptionId` of root `exception` fields (a detail view's shape), just
their names: then each request binds its own ids, so one entry serves every exception. Only
plans whose answer cannot depend on the request's instant are remembered (`planner.instant_free`).
The tenant is not in the key, and needs not be: an entry holds a plan and its price, both read
from the document, the variables and the role alone; the tenant is bound when the plan is
rendered, in the caller's own transaction, and the price is taken from the caller's own budget.
Both memos are bounded in bytes and per tenant (`api.memo`): an entry is sized as its text, its
variables and an estimate of its plan, and takes the share of the tenant whose request stored it.

A prepared answer never words an error: anything that is not a clean hit (another body shape,
a value the input guard refuses, an exhausted budget, a failed render) goes through the pipeline,
which answers it as it always has.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import orjson
from graphql import DocumentNode, FieldNode, OperationDefinitionNode, VariableNode, get_operation_ast, visit
from graphql.language import SKIP, Visitor

from sentinai import telemetry
from sentinai.api.memo import ByteMemo, MemoBounds, plan_bytes, text_bytes
from sentinai.api.planner import ONE_EXCEPTION, Planner, RenderedField, instant_free
from sentinai.api.query_cost import CostBudgets, cost_extension, memo_owner, tenant_budget_key
from sentinai.auth import Principal
from sentinai.context import Context
from sentinai.db.faults import is_unavailable
from sentinai.domain.validation import json_value_problem
from sentinai.repositories import document_shapes as shapes

log = logging.getLogger("sentinai.errors")

READ_PATH = "prepared"
"""The request log's and metrics' name for reads answered here."""


@dataclass(frozen=True)
class PreparedRead:
    documents: dict[str, shapes.Document]
    cost: int
    operation_name: str | None
    """The operation's own name (what the pipeline reports), not only the one the client sent."""
    bound: tuple[tuple[str, str], ...] = ()
    """(response key, variable) pairs: the root `exception` fields whose id each request binds."""

    def binds(self, variables: dict[str, Any]) -> bool:
        """Whether `variables` are exactly this entry's ids, each a string (as `String!` coerces)."""
        names = {variable for _, variable in self.bound}
        return bool(names) and variables.keys() == names and all(isinstance(variables[n], str) for n in names)

    def for_variables(self, variables: dict[str, Any]) -> dict[str, shapes.Document]:
        if not self.bound:
            return self.documents
        documents = dict(self.documents)
        for key, variable in self.bound:
            document = documents[key]
            assert isinstance(document, shapes.OneException)
            documents[key] = replace(document, exception_id=variables[variable])
        return documents


@dataclass(frozen=True)
class PostedOperation:
    """The parts of a POSTed GraphQL request that decide its answer, once decoded."""

    query: str
    operation_name: str | None
    variables: dict[str, Any]

    @classmethod
    def decoded(cls, body: bytes) -> PostedOperation | None:
        """The request, or None for any body the fast path does not take (the pipeline words it)."""
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(decoded, dict) or not decoded.keys() <= {"query", "variables", "operationName"}:
            return None
        query, name, variables = decoded.get("query"), decoded.get("operationName"), decoded.get("variables")
        if not isinstance(query, str) or not (name is None or isinstance(name, str)):
            return None
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            return None
        return cls(query, name, variables)


class PreparedReads:
    """Two memos, apart so that a client paging through thousands of cursors (an entry per value)
    cannot push out the few entries that serve every id."""

    def __init__(self, planner: Planner, budgets: CostBudgets, bounds: MemoBounds | None = None) -> None:
        self.planner, self.budgets = planner, budgets
        self._binding: ByteMemo[tuple[Any, ...], PreparedRead] = ByteMemo("prepared_binding", bounds)
        """Per (document, operation, role): entries that bind their ids."""
        self._by_values: ByteMemo[tuple[Any, ...], PreparedRead] = ByteMemo("prepared_by_values", bounds)
        """Per (document, operation, role, variables' values): every other entry."""

    @property
    def memos(self) -> dict[str, ByteMemo]:
        return {memo.name: memo for memo in (self._binding, self._by_values)}

    def remember(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
        document: DocumentNode,
        documents: dict[str, shapes.Document],
        cost: int,
    ) -> None:
        """Called by the pipeline once it has answered an operation with `documents`."""
        if not instant_free(documents):
            return
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return
        role, owner = context.principal.role, memo_owner(context)
        name = operation.name.value if operation.name else None
        variables = variables or {}
        size = text_bytes(query) + plan_bytes(len(query))
        bound = _bound_ids(document, operation, documents)
        if bound is not None and {variable for _, variable in bound} == variables.keys():
            self._binding.put((query, operation_name, role), PreparedRead(documents, cost, name, bound), size, owner)
            return
        values = _canonical(variables)
        if values is not None:
            key = (query, operation_name, role, values)
            self._by_values.put(key, PreparedRead(documents, cost, name), size + len(values), owner)

    def lookup(self, request: PostedOperation, principal: Principal | None) -> PreparedRead | None:
        """The entry that answers `request` for `principal`, if there is one (nothing else needed:
        the endpoint builds a request's context only for a hit)."""
        if principal is None or principal.tenant_id is None:
            return None
        head = (request.query, request.operation_name, principal.role)
        prepared = self._binding.get(head)
        if prepared is not None and prepared.binds(request.variables):
            return self._clean(prepared, request)
        values = _canonical(request.variables)
        prepared = None if values is None else self._by_values.get((*head, values))
        return None if prepared is None else self._clean(prepared, request)

    @staticmethod
    def _clean(prepared: PreparedRead, request: PostedOperation) -> PreparedRead | None:
        """The entry, unless a value in this request's variables is one the input guard refuses."""
        return None if json_value_problem(request.variables) is not None else prepared

    async def answer(self, prepared: PreparedRead, request: PostedOperation, context: Context) -> dict[str, Any] | None:
        """The response body for `request` from the entry `lookup` found, or None: the pipeline
        answers it. The caller closes `context` on every path."""
        bucket = self.budgets.bucket(tenant_budget_key(context.principal))
        if not bucket.take(prepared.cost, time.monotonic()):
            return None  # the pipeline words the refusal, with its wait
        with telemetry.span("graphql.operation") as span:
            span.set_attribute("graphql.operation.name", prepared.operation_name or "")
            span.set_attribute("graphql.operation.type", "query")
            try:
                data: dict[str, RenderedField] = await self.planner.render_prepared(
                    prepared.for_variables(request.variables), context
                )
            except Exception as error:
                if not is_unavailable(error):  # the pipeline answers; a bug here must still be seen
                    log.error(
                        "prepared read failed (%s); answered by the pipeline", uuid.uuid4().hex[:16], exc_info=error
                    )
                bucket.give_back(prepared.cost)
                await context.reset_reads()
                return None
        record = telemetry.current()
        if record is not None:
            record.operation, record.operation_type = prepared.operation_name, "query"
            record.cost, record.path = prepared.cost, READ_PATH
        return {"data": data, "extensions": cost_extension(prepared.cost, self.budgets, bucket)}


def _canonical(variables: dict[str, Any]) -> bytes | None:
    try:
        return orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def _bound_ids(
    document: DocumentNode, operation: OperationDefinitionNode, documents: dict[str, shapes.Document]
) -> tuple[tuple[str, str], ...] | None:
    """(response key, variable) for each root `exception(exceptionId: $v)`, when those are the
    operation's only uses of variables (so its plan is the same for any ids); otherwise None."""
    bound: list[tuple[str, str]] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value != ONE_EXCEPTION:
            continue
        key = selection.alias.value if selection.alias else selection.name.value
        for argument in selection.arguments or ():
            if isinstance(argument.value, VariableNode) and isinstance(documents.get(key), shapes.OneException):
                bound.append((key, argument.value.name.value))
    if not bound or _variable_uses(document) != len(bound):
        return None
    return tuple(bound)


def _variable_uses(document: DocumentNode) -> int:
    """Uses of variables anywhere in the document (fragments and other operations included)."""
    uses = 0

    class Uses(Visitor):
        def enter_variable(self, *_: object) -> None:
            nonlocal uses
            uses += 1

        def enter_variable_definition(self, *_: object) -> object:
            return SKIP  # a declaration is not a use

    visit(document, Uses())
    return uses
