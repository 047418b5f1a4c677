"""Input types built straight from the values graphql-core has already coerced.

Strawberry converts an input value field by field through its generic `convert_argument`, which
re-derives each field's GraphQL name and type for every value: for a batch of 100 items that is
~1,000 generic conversions per request, a sixth of the server's time in batch intake. A leaf field
(a scalar or an enum, nullable or not) needs no conversion at all: graphql-core has parsed it. So
an input type marked `@built_directly` works out once, from its own Strawberry definition and with
Strawberry's own leaf test, which fields are leaves; it copies those and hands every other field
to Strawberry's conversion. Nothing is validated here: that stays in the services. A test builds
generated inputs both ways and requires the same objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay import GlobalID
from strawberry.types.arguments import InputContext, _is_leaf_type, _is_optional_leaf_type
from strawberry.types.base import StrawberryMaybe, StrawberryObjectDefinition, StrawberryType

T = TypeVar("T", bound=type)

# (GraphQL name, Python name, the field's type when it needs converting, else None)
Plan = list[tuple[str, str, StrawberryType | type | None]]


def built_directly(cls: T) -> T:
    """Mark a `@strawberry.input` class to be built as described above."""
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    implicit_none: dict[str, Any] = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    planned: list[tuple[object, Plan]] = []  # the plan for a schema's config (field names follow it)

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not planned or planned[-1][0] is not context.config:
            planned[:] = [(context.config, _plan(definition, context))]
        kwargs = dict(implicit_none)
        for graphql_name, python_name, convert in planned[-1][1]:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = given if convert is None else context.convert(given, convert, graphql_name)
        return type_(**kwargs)

    definition.from_input = from_input
    return cls


def _plan(definition: StrawberryObjectDefinition, context: InputContext) -> Plan:
    plan: Plan = []
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        registry, skip = context.scalar_registry, (GlobalID,)
        leaf = not isinstance(type_, StrawberryMaybe) and (
            _is_leaf_type(type_, registry, skip) or _is_optional_leaf_type(type_, registry, skip)
        )
        plan.append((context.config.name_converter.from_field(field), field.python_name, None if leaf else type_))
    return plan
