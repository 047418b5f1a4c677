"""Query cost analysis, checked before any resolver runs, with a per-tenant budget over time.

Strawberry has none built in (strawberry-graphql/strawberry#2988). The model follows
GitHub's and Shopify's: a scalar costs nothing, an object 1, a list of objects 1 plus ten
times its items, a connection 1 plus `first` times its node, a mutation field 10. A batch
mutation (an `input` with `items`) adds 2 per item, and the lists of its result are as long as
its items. The cost of each request is reported in `extensions.cost`, like Shopify's
`throttleStatus`.

The document's text is priced too: its first `FREE_TEXT_CHARACTERS` (4,096) cost nothing, then
each started 1,024 characters 1 point (a document of 1 MiB costs 1,020 more). Whitespace and
commas are no tokens and a comment of any length is one, so without it a client could make the
server read, parse and remember mebibytes for a point or two. HTTP and WebSocket pay it alike: both price through
`operation_cost`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
    is_leaf_type,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension

from sentinai import telemetry
from sentinai.api.errors import error_code
from sentinai.api.input_guard import unacceptable_inputs
from sentinai.api.memo import ByteMemo, MemoBounds, syntax_bytes, text_bytes, text_length
from sentinai.auth import Principal
from sentinai.context import Context

LIST_ESTIMATE = 10
MUTATION_COST = 10
BATCH_ITEM_COST = 2
"""An item of a batch mutation shares its transaction, so it costs less than a mutation field."""
DEFAULT_PAGE = 20
FREE_TEXT_CHARACTERS = 4 * 1024
TEXT_COST_CHARACTERS = 1024
"""Each started run of this many characters past `FREE_TEXT_CHARACTERS` costs 1 point."""


@dataclass
class TokenBucket:
    """`capacity` points, refilled at `restore_rate` points per second."""

    capacity: float
    restore_rate: float
    available: float
    updated: float

    def take(self, cost: float, now: float) -> bool:
        self.available = min(self.capacity, self.available + (now - self.updated) * self.restore_rate)
        self.updated = now
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def charge(self, cost: float, now: float) -> None:
        """Take `cost` for work already done, into debt if need be (a refused oversize document:
        the body was read and decoded all the same). A bucket in debt refuses before any work."""
        if not self.take(cost, now):
            self.available -= cost

    def in_debt(self, now: float) -> bool:
        return self.available + (now - self.updated) * self.restore_rate < 0

    def give_back(self, cost: float) -> None:
        """Return what `take` took for work that was then not done (it is done again elsewhere)."""
        self.available = min(self.capacity, self.available + cost)

    def seconds_until(self, cost: float) -> float:
        return max(0.0, (cost - self.available) / self.restore_rate)


class CostBudgets:
    """One bucket per tenant (per process): a tenant that spends its budget waits; others don't."""

    def __init__(self, capacity: float, restore_rate: float, max_per_request: float) -> None:
        self.capacity, self.restore_rate, self.max_per_request = capacity, restore_rate, max_per_request
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, tenant_key: str) -> TokenBucket:
        if tenant_key not in self._buckets:
            self._buckets[tenant_key] = TokenBucket(self.capacity, self.restore_rate, self.capacity, time.monotonic())
        return self._buckets[tenant_key]


def operation_cost(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The cost of the operation the request will execute (the document is already validated),
    plus the price of its text (`text_cost`).

    Sizes are the values execution will use: variables coerced with their defaults, and the
    field's own default where an argument is absent. Only the text is priced when execution
    will refuse the request anyway (no such operation, variables that do not coerce)."""
    return text_cost(document) + _selection_cost(schema, document, operation_name, variables)


def text_cost(document: Any) -> int:
    """1 point per started `TEXT_COST_CHARACTERS` of the document's text past the free ones."""
    return text_price(text_length(document))


def charge_refused_text(budgets: CostBudgets | None, principal: Principal | None, characters: int) -> None:
    """A document refused for its length was received and decoded all the same: its text's price
    is owed, into debt if need be (`TokenBucket.charge`), on every surface that refuses one."""
    if budgets is not None:
        budgets.bucket(tenant_budget_key(principal)).charge(text_price(characters), time.monotonic())


def text_price(characters: int) -> int:
    """What a text of `characters` costs (`text_cost`), before or without parsing it."""
    return -(-max(0, characters - FREE_TEXT_CHARACTERS) // TEXT_COST_CHARACTERS)


def _selection_cost(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    if isinstance(coerced, list):
        return 0
    walker = _Walker(schema, fragments, coerced)
    root = schema.get_root_type(operation.operation)
    if operation.operation.value != "mutation":
        return sum(walker.fields_cost(root, operation.selection_set))
    return sum(walker.mutations_cost(root, operation.selection_set))


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: VariableValues
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def fields_cost(
        self, parent: Any, selection_set: SelectionSetNode | None, items: int | None = None
    ) -> Iterator[int]:
        """The cost of each field selected on `parent`; its lists hold `items` when given."""
        for field, owner in self._fields(parent, selection_set):
            yield self._field_cost(owner, field, items)

    def mutations_cost(self, root: Any, selection_set: SelectionSetNode) -> Iterator[int]:
        for node, _ in self._fields(root, selection_set):
            definition = root.fields.get(node.name.value)
            items = self._batch_items(definition, node) if definition is not None else None
            if items is None:
                yield MUTATION_COST + self._field_cost(root, node)
            else:
                yield MUTATION_COST + BATCH_ITEM_COST * items + self._field_cost(root, node, batch=items)

    def _batch_items(self, definition: GraphQLField, node: FieldNode) -> int | None:
        """How many items a batch mutation's `input.items` holds, as execution will see them."""
        if "input" not in definition.args:
            return None
        try:
            given = get_argument_values(definition, node, self.variables).get("input")
        except GraphQLError:  # execution will refuse the argument itself
            return None
        items = given.get("items") if isinstance(given, dict) else None
        return len(items) if isinstance(items, list) else None

    def _fields(self, parent: Any, selection_set: SelectionSetNode | None) -> Iterator[tuple[FieldNode, Any]]:
        """The fields selected on `parent`, with fragments expanded onto their condition types."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                yield from self._fields(
                    self._type(condition.name.value) if condition else parent, selection.selection_set
                )
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                yield from self._fields(self._type(fragment.type_condition.name.value), fragment.selection_set)

    def _type(self, name: str) -> Any:
        return self.schema.get_type(name)

    def _field_cost(self, parent: Any, node: FieldNode, items: int | None = None, batch: int | None = None) -> int:
        """The field's cost. `items` is the length of the field if it is a list (a batch's results);
        `batch`, the length of the lists its own type holds (the field is a batch mutation)."""
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:  # __typename, or a field of a union
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            return 1 + self._size(definition, node, DEFAULT_PAGE) * self._connection_item_cost(named, node)
        children = sum(self.fields_cost(named, node.selection_set, batch))
        if _is_list(definition.type):
            size = items if items is not None else self._size(definition, node, LIST_ESTIMATE)
            return 1 + size * (1 + children)
        return 1 + children

    def _connection_item_cost(self, connection: Any, node: FieldNode) -> int:
        """Per item: the dearer of `edges { node … }` and `nodes { … }` (at least 1)."""
        per_item = 1
        for field, _ in self._fields(connection, node.selection_set):
            if field.name.value in ("nodes", "edges"):
                item_type = get_named_type(connection.fields[field.name.value].type)
                per_item = max(per_item, 1 + sum(self.fields_cost(item_type, field.selection_set)))
        return per_item

    def _size(self, definition: GraphQLField, node: FieldNode, default: int) -> int:
        """How many items the field asks for: its `first` as execution will see it."""
        if "first" not in definition.args:
            return default
        try:
            first = get_argument_values(definition, node, self.variables).get("first")
        except GraphQLError:  # execution will refuse the argument itself
            return default
        return max(1, first) if isinstance(first, int) else default


def _is_list(graphql_type: Any) -> bool:
    while isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    return isinstance(graphql_type, GraphQLList)


class ValidationMemo:
    """Validation results by query text, bounded in bytes and per tenant (`api.memo`). Clients send
    the same few documents again and again, and validating one costs several milliseconds.

    Keyed by the text alone, which is safe across tenants: validation reads only the document and
    the schema's rules (fixed for one schema), never the tenant, role, variables or instant, and the
    errors it remembers word only the document. An entry with errors holds the parsed document
    through their nodes, so it is sized like one."""

    def __init__(self, bounds: MemoBounds | None = None) -> None:
        self.memo: ByteMemo[str, list[GraphQLError]] = ByteMemo("validations", bounds)

    def validate(self, context: Any) -> list[GraphQLError]:
        query, document = context.query, context.graphql_document
        remembered = None if query is None else self.memo.get(query)
        if remembered is not None:
            return remembered
        found = validate(context.schema._schema, document, context.validation_rules)
        errors = [_client_error(error) for error in found]
        if query is not None:
            size = text_bytes(query) + (syntax_bytes(document) if errors else 0)
            self.memo.put(query, errors, size, memo_owner(context.context))
        return errors


def memo_owner(context: Any) -> str:
    """Whose share of a memo an entry stored for this request's `context` takes: its tenant's."""
    return tenant_budget_key(getattr(context, "principal", None))


def _operation_not_chosen(document: Any, operation_name: str | None) -> list[GraphQLError]:
    """The specification refuses a document of several operations that names none to run."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        message = "The document holds several operations: say which to run with `operationName`."
        return [GraphQLError(message, extensions={"code": "GRAPHQL_VALIDATION_FAILED"})]
    return []


def _client_error(error: GraphQLError) -> GraphQLError:
    """A validation error is the client's, whatever raised it inside graphql-core (a scalar's
    parser raising ValueError for an Int of 5,000 digits): it is never masked as INTERNAL."""
    plain = GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, None, error.extensions)
    return GraphQLError(
        plain.message, plain.nodes, plain.source, plain.positions, plain.path, None, {"code": error_code(plain)}
    )


class QueryCostLimiter(SchemaExtension):
    """Validates the document, then prices it; refuses it before execution when it costs more
    than one request may, or more than the caller's budget holds now."""

    def __init__(self, budgets: CostBudgets, memo: ValidationMemo | None = None) -> None:
        self.budgets = budgets
        self.memo = memo or ValidationMemo()
        self.cost: int | None = None
        self.bucket: TokenBucket | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None, "Strawberry validates only a parsed document"
        provided = context._provided_operation_name  # `operation_name` falls back to the first operation's
        errors = self.memo.validate(context) or _operation_not_chosen(context.graphql_document, provided)
        if not errors:
            errors = unacceptable_inputs(context.graphql_document, context.variables)
        if not errors:
            errors = self._price()
        context.pre_execution_errors = errors
        yield

    def _price(self) -> list[GraphQLError]:
        context = self.execution_context
        self.cost = operation_cost(
            context.schema._schema, context.graphql_document, context.operation_name, context.variables
        )
        if isinstance(context.context, Context):  # the price travels with the request (`api.prepared`)
            context.context.cost = self.cost
            context.context.delivery_cost = max(1, self.cost - text_cost(context.graphql_document))
        record = telemetry.current()
        if record is not None:
            record.cost = self.cost
        if self.cost > self.budgets.max_per_request:
            return [
                GraphQLError(
                    f"Query cost {self.cost} exceeds the maximum of {self.budgets.max_per_request:g} per request; "
                    "ask for fewer items (`first`) or fewer nested lists.",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": self.cost},
                )
            ]
        self.bucket = self.budgets.bucket(tenant_budget_key(getattr(context.context, "principal", None)))
        if isinstance(
            context.context, Context
        ):  # a subscription pays each delivery from it (`resolvers.subscriptions`)
            context.context.budget = self.bucket
        if not self.bucket.take(self.cost, time.monotonic()):
            wait = math.ceil(self.bucket.seconds_until(self.cost))
            return [
                GraphQLError(
                    f"Query budget exhausted: this query costs {self.cost}, {self.bucket.available:.0f} points are "
                    f"available; retry in {wait} s.",
                    extensions={"code": "THROTTLED", "cost": self.cost, "retryAfterSeconds": wait},
                )
            ]
        return []

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return cost_extension(self.cost, self.budgets, self.bucket)


def tenant_budget_key(principal: Principal | None) -> str:
    """Whose budget a request spends: its tenant's (the platform admin and anonymous have their own)."""
    return (principal.tenant_id or "platform") if principal else "anonymous"


def cost_extension(cost: int, budgets: CostBudgets, bucket: TokenBucket | None) -> dict[str, Any]:
    """The response's `extensions.cost`: the price and what the tenant's budget holds after it."""
    status = {}
    if bucket is not None:
        status = {
            "currentlyAvailable": round(bucket.available),
            "maximumAvailable": bucket.capacity,
            "restoreRate": bucket.restore_rate,
        }
    return {
        "cost": {"requestedQueryCost": cost, "maximumPerRequest": budgets.max_per_request, "throttleStatus": status}
    }
