"""Strawberry objects whose values come from the catalogue, and Relay nodes loaded by global id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Self

from strawberry import Info, relay

from sentinai.catalog import KINDS
from sentinai.context import Context


class CatalogObject:
    """A type whose field values are its catalogue kind's Python faces of one row (`from_row`).
    Each subclass keeps that row as `_row: strawberry.Private[Any]`, for its relations' resolvers."""

    kind: ClassVar[str]

    if TYPE_CHECKING:

        def __init__(self, *, _row: Any, **values: Any) -> None:
            """What each subclass's Strawberry decorator generates: its fields, by keyword."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(_row=row, **KINDS[cls.kind].values(row))


class LoadedNode(CatalogObject, relay.Node):
    """A Node type: `node(id:)` resolves every one the same way, batched and from the request's cache."""

    @classmethod
    async def resolve_nodes(cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False) -> list:
        tenant_id = info.context.principal.tenant_id
        rows = await info.context.loaders.node(KINDS[cls.kind].type_name, list(node_ids), tenant_id)
        return [cls.from_row(row) if row else None for row in rows]
