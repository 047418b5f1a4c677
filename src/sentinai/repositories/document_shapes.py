"""What a read document selects, in the document repository's terms (see `documents.py`).

The GraphQL layer (`resolvers/documents.py`) builds these from a client's selection; they
are plain hashable values, so the statement built for a shape can be cached and reused.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeAlias

from sentinai.repositories.events import EventPage
from sentinai.repositories.exceptions import ExceptionPage
from sentinai.repositories.insights import StatsQuery


@dataclass(frozen=True)
class Constant:
    """A fixed string, such as `__typename`."""

    value: str


@dataclass(frozen=True)
class Attribute:
    """A column of the row's kind in the catalogue, by name."""

    name: str


@dataclass(frozen=True)
class Related:
    """A to-one (an object or null), to-many or through (a list), or embedded relation of the catalogue, by name."""

    name: str
    shape: ObjectShape


@dataclass(frozen=True)
class Paged:
    """A paged relation of the catalogue (a timeline, an entity's history), rendered as a connection."""

    name: str
    page: EventPage | ExceptionPage
    shape: PageShape


@dataclass(frozen=True)
class Computed:
    """A computed relation of the catalogue (similar cases, their reasons), with the argument its
    rows are made with (how many similar cases), rendered as a list."""

    name: str
    argument: Hashable
    shape: ObjectShape


Field: TypeAlias = Constant | Attribute | Related | Paged | Computed


@dataclass(frozen=True)
class ObjectShape:
    kind: str
    fields: tuple[tuple[str, Field], ...]


@dataclass(frozen=True)
class Nodes:
    shape: ObjectShape


@dataclass(frozen=True)
class Edges:
    fields: tuple[tuple[str, Constant | Nodes | str], ...]
    """Per key: a constant, the node (`Nodes`), or "cursor"."""


@dataclass(frozen=True)
class PageInfo:
    fields: tuple[tuple[str, Constant | str], ...]
    """Per key: a constant, or one of hasNextPage, hasPreviousPage, startCursor, endCursor."""


@dataclass(frozen=True)
class TotalCount:
    pass


PageField: TypeAlias = Constant | Nodes | Edges | PageInfo | TotalCount


@dataclass(frozen=True)
class PageShape:
    fields: tuple[tuple[str, PageField], ...]


@dataclass(frozen=True)
class OneException:
    """`exception(exceptionId:)`: the object, or null."""

    exception_id: str
    shape: ObjectShape


@dataclass(frozen=True)
class ExceptionList:
    """A page of the exception list, as a connection."""

    page: ExceptionPage
    shape: PageShape


@dataclass(frozen=True)
class Statistics:
    """`exceptionStats`: one object per group, in the groups' order."""

    query: StatsQuery
    shape: ObjectShape


Document: TypeAlias = OneException | ExceptionList | Statistics
