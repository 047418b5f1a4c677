"""The schema as a contract: guarded, documented, and pinned in git."""

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
)

from sentinai.api.schema import schema
from sentinai.resolvers.permissions import Guard

SDL = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


def _root_fields(name):
    return schema.schema_converter.type_map[name].definition.fields


def test_every_root_field_carries_a_guard():
    unguarded = [
        f"{root}.{field.graphql_name or field.python_name}"
        for root in ("Query", "Mutation", "Subscription")
        for field in _root_fields(root)
        if not any(issubclass(guard, Guard) for guard in field.permission_classes)
    ]
    assert unguarded == []


def test_every_type_field_and_argument_is_described():
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID", "UUID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{name}.{field_name}({argument_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{value}"
                for value, spec in graphql_type.values.items()
                if not spec.description and name in {"ExceptionOrder", "IngestOutcome", "RemediationOutcome"}
            ]
        if isinstance(graphql_type, GraphQLUnionType) and not graphql_type.description:
            missing.append(name)
    assert missing == []


def test_the_exported_sdl_in_git_matches_the_schema():
    assert SDL.read_text() == schema.as_str() + "\n", "run: sentinai export-schema docs/schema.graphql"


def test_every_argument_with_a_default_is_nullable_so_relay_clients_may_pass_a_variable_for_it():
    """Relay's compiler refuses a variable with a default for a non-null argument."""
    non_null_defaults = [
        f"{name}.{field_name}({argument_name})"
        for name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        for argument_name, argument in field.args.items()
        if argument.default_value is not Undefined and isinstance(argument.type, GraphQLNonNull)
    ]
    assert non_null_defaults == []


KEYED_BY_THEIR_OWN_IDS = {
    "ingestException",
    "ingestExceptions",
    "recordExceptionEvent",
    "recordExceptionEvents",
    "assignException",
    "transitionException",
    "attachPlaybook",
    "advancePlaybookStep",
}
"""Idempotent on `exceptionId` / `eventId` (docs/api.md, "Idempotency"); every other mutation
creates or decides and takes an `idempotencyKey` (docs/api.md, "Idempotency keys")."""


def test_every_other_mutation_takes_an_idempotency_key_and_says_when_it_replayed():
    mutation = schema._schema.mutation_type
    missing = []
    for name, field in mutation.fields.items():
        if name in KEYED_BY_THEIR_OWN_IDS:
            continue
        input_type = field.args["input"].type.of_type
        if "idempotencyKey" not in input_type.fields:
            missing.append(f"{input_type.name}.idempotencyKey")
        for member in field.type.of_type.types:
            if not member.interfaces and "replayed" not in member.fields:
                missing.append(f"{member.name}.replayed")
    assert len(mutation.fields) - len(KEYED_BY_THEIR_OWN_IDS) == 17 and missing == []
