"""Strawberry objects whose values come from the catalogue, and Relay nodes loaded by global id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import strawberry
from strawberry import relay

from sentinai.catalog import KINDS


class CatalogObject:
    """A type whose field values are its catalogue kind's Python faces of one row (`from_row`).
    Each subclass keeps that row as `_row: strawberry.Private[Any]`, for its relations' resolvers."""

    kind: ClassVar[str]

    @classmethod
    def from_row(cls, row: Any) -> Any:
        return cls(_row=row, **KINDS[cls.kind].values(row))  # type: ignore[call-arg]


class LoadedNode(CatalogObject, relay.Node):
    """A Node type: `node(id:)` resolves every one the same way, batched and from the request's cache."""

    @classmethod
    async def resolve_nodes(cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False) -> list:
        rows = await info.context.loaders.node(KINDS[cls.kind].type_name, list(node_ids))
        return [cls.from_row(row) if row else None for row in rows]
