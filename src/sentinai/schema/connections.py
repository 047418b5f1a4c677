"""Relay connections over keyset pages: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from sentinai.repositories.pagination import Page

NodeT = TypeVar("NodeT")


@strawberry.type(name="PageInfo", description="Where this page sits in the list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    has_previous_page: bool = strawberry.field(description="Items precede this page (true when `after` was given).")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item on this page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type(description="An item and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this item; pass as `after`.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, paged by opaque keyset cursors.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page with their cursors.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole list holds (costs one counting query).")
    async def total_count(self) -> int:
        return await self._count()


def connection(page: Page, convert: Callable, count: Callable[[], Awaitable[int]], after: str | None) -> Connection:
    edges = [Edge(cursor=cursor, node=convert(item)) for item, cursor in zip(page.items, page.cursors)]
    info = PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=after is not None,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return Connection(edges=edges, page_info=info, _count=count)
