"""Values no field can accept, refused for the whole request before anything runs.

A NUL or a lone surrogate in a string, NaN or ±Infinity in a number: PostgreSQL cannot store
or compare them, whatever field they are sent to, read or write. JSON variables carry all
four (Python's decoder accepts `NaN` and `"\\ud800"`); document literals only NUL and
out-of-range floats (graphql-core's lexer already refuses lone surrogates). Each refusal is a
VALIDATION_FAILED request error naming where the value sits, as the client wrote it:
`input.payload.confidence` for a variable `$input`, `filter.owner` for a literal argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
)

from sentinai.domain.validation import json_value_problem, number_problem, text_problem


def refusal(field: str, reason: str) -> GraphQLError:
    return GraphQLError(f"{field}: {reason}", extensions={"code": "VALIDATION_FAILED", "field": field})


def unacceptable_inputs(document: DocumentNode, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """At most one refusal: the first unacceptable value in the variables, else in the document."""
    problem = json_value_problem(dict(variables or {}))
    if problem is not None:
        return [refusal(problem[0].removeprefix("."), problem[1])]
    for path, value in _literals(document):
        reason = _literal_problem(value)
        if reason is not None:
            return [refusal(path, reason)]
    return []


def _literal_problem(value: ValueNode) -> str | None:
    if isinstance(value, StringValueNode):
        return text_problem(value.value)
    if isinstance(value, FloatValueNode):
        return number_problem(float(value.value))  # `1e400` reads as infinity
    return None


def _literals(document: DocumentNode) -> Iterator[tuple[str, ValueNode]]:
    """Every literal leaf value of the document's arguments and variable defaults, with its path."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                if variable.default_value is not None:
                    yield from _values(variable.variable.name.value, variable.default_value)
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode)):
            yield from _directives(definition.directives)
            yield from _selections(definition.selection_set)


def _selections(selection_set: SelectionSetNode | None) -> Iterator[tuple[str, ValueNode]]:
    for selection in selection_set.selections if selection_set else ():
        yield from _directives(selection.directives)
        if isinstance(selection, FieldNode):
            yield from _arguments(selection.arguments)
        if isinstance(selection, (FieldNode, InlineFragmentNode)):
            yield from _selections(selection.selection_set)


def _directives(directives: tuple[DirectiveNode, ...] | None) -> Iterator[tuple[str, ValueNode]]:
    for directive in directives or ():
        yield from _arguments(directive.arguments)


def _arguments(arguments: tuple[ArgumentNode, ...] | None) -> Iterator[tuple[str, ValueNode]]:
    for argument in arguments or ():
        yield from _values(argument.name.value, argument.value)


def _values(path: str, value: ValueNode) -> Iterator[tuple[str, ValueNode]]:
    if isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _values(f"{path}.{field.name.value}", field.value)
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _values(f"{path}[{index}]", item)
    else:
        yield path, value
