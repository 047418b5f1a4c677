"""The catalogue and the schema describe the same fields, and only the catalogue says how they are made.

Each Strawberry type declares exactly its kind's columns and relations plus the fields only a
resolver answers; each paged or root field the planner renders reads its arguments through the
same function as its resolver; and no layer below the API writes GraphQL's wire format.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from strawberry.types.base import StrawberryObjectDefinition

import sentinai
from sentinai.api.planner import PAGES, ROOTS, STATISTICS
from sentinai.api.schema import schema
from sentinai.catalog import KINDS, Paged

NOT_FIELDS = {"key", "_row"}  # Relay's NodeID (shown as `id`) and the row kept for relations


def _strawberry_fields(type_name: str) -> set[str]:
    definition = schema.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition)
    return {field.python_name for field in definition.fields} - NOT_FIELDS


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda kind: kind.type_name)
def test_each_type_declares_exactly_its_catalogue_fields_and_its_resolver_only_fields(kind):
    declared = set(kind.columns) | set(kind.relations) | kind.resolver_only

    assert _strawberry_fields(kind.type_name) == declared


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda kind: kind.type_name)
def test_each_relation_points_at_a_catalogued_kind_through_its_columns(kind):
    for relation in kind.relations.values():
        target = KINDS[relation.target]
        for ours, theirs in getattr(relation, "on", ()):
            assert ours in kind.table.c and theirs in target.table.c


def _argument_names(type_name: str, field_name: str) -> list[str]:
    definition = schema.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition)
    field = next(field for field in definition.fields if field.python_name == field_name)
    return sorted(argument.python_name for argument in field.arguments)


def test_every_paged_relation_reads_its_arguments_as_its_resolver_does():
    paged = {
        (kind.name, name) for kind in KINDS.values() for name, rel in kind.relations.items() if isinstance(rel, Paged)
    }

    assert paged == set(PAGES)
    for (kind, name), page in PAGES.items():
        assert sorted(inspect.signature(page).parameters) == _argument_names(KINDS[kind].type_name, name)


def test_every_planned_root_reads_its_arguments_as_its_resolver_does():
    for name, page in [*ROOTS.items(), STATISTICS]:
        python_name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        parameters = sorted(set(inspect.signature(page).parameters) - {"now", "selected"})
        assert parameters == _argument_names("Query", python_name), name


def test_no_graphql_type_name_or_id_format_is_written_below_the_api():
    type_names = {kind.type_name for kind in KINDS.values()} | {"PageInfo", "Connection", "Edge"}
    literal = re.compile(r"""["'](%s)(:|["'])""" % "|".join(sorted(type_names)))
    below = Path(sentinai.__file__).parent / "repositories"

    offenders = [str(path) for path in below.glob("*.py") if literal.search(path.read_text())]

    assert offenders == []
