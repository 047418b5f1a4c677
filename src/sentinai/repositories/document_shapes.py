"""What a read document selects, in the document repository's terms (see `documents.py`).

The GraphQL layer (`resolvers/documents.py`) builds these from a client's selection; they
are plain hashable values, so the statement built for a shape can be cached and reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from sentinai.repositories.events import EventFilter
from sentinai.repositories.exceptions import ExceptionFilter


@dataclass(frozen=True)
class Constant:
    """A fixed string, such as `__typename`."""

    value: str


@dataclass(frozen=True)
class Attribute:
    """A value of the row itself, by the name the row's kind gives it (see `ATTRIBUTES`)."""

    name: str


@dataclass(frozen=True)
class Related:
    """A to-one relation (an object or null) or a to-many one (a list), by name (see `RELATIONS`)."""

    name: str
    shape: ObjectShape


@dataclass(frozen=True)
class EventPage:
    """Which page of an exception's timeline: the arguments of `Exception.events`."""

    first: int
    after: str | None = None
    where: EventFilter = EventFilter()
    newest_first: bool = False


@dataclass(frozen=True)
class Paged:
    """A page of a to-many relation, rendered as a Relay connection."""

    name: str
    page: EventPage
    shape: PageShape


Field: TypeAlias = Constant | Attribute | Related | Paged


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
    """`exceptions(filter:, orderBy:, first:, after:)`: a connection."""

    where: ExceptionFilter
    order: str
    first: int
    after: str | None
    shape: PageShape


Document: TypeAlias = OneException | ExceptionList
