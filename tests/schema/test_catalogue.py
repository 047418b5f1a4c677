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
from sqlalchemy import FromClause, literal
from strawberry.types.base import StrawberryObjectDefinition

import sentinai
from sentinai.api.planner import PAGES, ROOTS, STATISTICS
from sentinai.api.schema import schema
from sentinai.catalog import KINDS, Computed, Embedded, Kind, Paged, Scope, SqlEnv, Through, ToMany, ToOne
from sentinai.resolvers.insights import stats_query

NOT_FIELDS = {"key", "_row"}  # Relay's NodeID (shown as `id`) and the row kept for relations


def _strawberry_fields(type_name: str) -> set[str]:
    definition = schema.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition)
    return {field.python_name for field in definition.fields} - NOT_FIELDS


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda kind: kind.type_name)
def test_each_type_declares_exactly_its_catalogue_fields_and_its_resolver_only_fields(kind):
    declared = set(kind.columns) | set(kind.relations) | kind.resolver_only

    assert _strawberry_fields(kind.type_name) == declared


def _rows(kind: Kind) -> FromClause:
    """What a kind's rows are read from: its table, or the select of the relation computing them."""
    if kind.table is not None:
        return kind.table
    parent, computed = next(
        (parent, relation)
        for parent in KINDS.values()
        for relation in parent.relations.values()
        if isinstance(relation, Computed) and relation.target == kind.name
    )
    return computed.rows(_rows(parent).c, SqlEnv(literal("t"), literal(None)), 5).subquery()


@pytest.mark.parametrize(
    "kind", [k for k in KINDS.values() if k.scope is not Scope.ROW or k.relations], ids=lambda kind: kind.type_name
)
def test_each_relation_points_at_a_catalogued_kind_through_its_columns(kind):
    for relation in kind.relations.values():
        target = KINDS[relation.target]
        for ours, theirs in getattr(relation, "on", ()):
            assert ours in _rows(kind).c and theirs in _rows(target).c


ROOT_ROWS = {"stats_group": "exceptionStats"}
"""Row kinds that are a planned root's rows, reached by no relation."""


@pytest.mark.parametrize("kind", [k for k in KINDS.values() if k.scope is Scope.ROW], ids=lambda kind: kind.type_name)
def test_each_computed_kind_is_reached_one_way_and_a_computed_list_is_ordered(kind):
    reaching = [
        type(relation)
        for k in KINDS.values()
        for relation in k.relations.values()
        if getattr(relation, "target", None) == kind.name
    ]

    if kind.name in ROOT_ROWS:
        assert reaching == []
    elif reaching != [Embedded]:  # an embedded object is computed from its parent's row
        assert reaching == [Computed]
        assert "position" in _rows(kind).c


def test_a_through_relation_goes_to_many_then_to_one_and_ends_at_its_target():
    through = [(kind, r) for kind in KINDS.values() for r in kind.relations.values() if isinstance(r, Through)]

    assert through
    for kind, relation in through:
        via = kind.relations[relation.via]
        then = KINDS[via.target].relations[relation.then]
        assert isinstance(via, ToMany) and isinstance(then, ToOne) and then.target == relation.target


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
    for name, page in [*ROOTS.items(), (STATISTICS, stats_query)]:
        python_name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        parameters = sorted(set(inspect.signature(page).parameters) - {"now", "selected"})
        assert parameters == _argument_names("Query", python_name), name


def test_no_graphql_type_name_or_id_format_is_written_below_the_api():
    type_names = {kind.type_name for kind in KINDS.values()} | {"PageInfo", "Connection", "Edge"}
    literal = re.compile(r"""["'](%s)(:|["'])""" % "|".join(sorted(type_names)))
    below = Path(sentinai.__file__).parent / "repositories"

    offenders = [str(path) for path in below.glob("*.py") if literal.search(path.read_text())]

    assert offenders == []
