"""The change feed for machines: `changes(after:, first:)`, resumable from any position."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.repositories.changes import position_of
from sentinai.repositories.pagination import page_size
from sentinai.resolvers.permissions import CanRead
from sentinai.schema.changes import ChangeType
from sentinai.schema.connections import Connection, connection


@strawberry.type
class ChangeQueries:
    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "Your tenant's change log from a position, oldest first: every committed timeline event and audit "
            "entry exactly once, in order. Keep `pageInfo.endCursor` and pass it as `after` to continue; a page "
            "shorter than `first` means you are at the head (poll or subscribe for more). `totalCount` is the "
            "head's position."
        ),
    )
    async def changes(
        self,
        info: Info[Context, None],
        after: Annotated[
            str | None,
            strawberry.argument(description="The position (cursor) of the last change you have; null: the start."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 100).")] = 100,
    ) -> Connection[ChangeType] | None:
        position = position_of("after", after)
        size = page_size(first, default=100)
        uow = await info.context.reader()
        page = await uow.changes.after(position, size)
        return connection(page, ChangeType.from_row, uow.changes.head, after)
