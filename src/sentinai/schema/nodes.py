"""Relay nodes whose rows load by id through the request's loaders (`Loaders.node`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import strawberry
from strawberry import relay


class LoadedNode(relay.Node):
    """A Node type names the loader kind its rows come from and converts them with `from_row`;
    `node(id:)` then resolves every type the same way, batched and from the request's cache."""

    node_kind: ClassVar[str]

    @classmethod
    def from_row(cls, row: Any) -> Any:
        raise NotImplementedError

    @classmethod
    async def resolve_nodes(cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False) -> list:
        rows = await info.context.loaders.node(cls.node_kind, list(node_ids))
        return [cls.from_row(row) if row else None for row in rows]
