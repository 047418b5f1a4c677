"""Rows of any catalogued kind, fetched by the columns a relation joins on: the loaders' batch
query for every to-one and to-many relation the catalogue declares."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal, select, tuple_

from sentinai.catalog import Kind, SqlEnv
from sentinai.repositories.base import Repository


class RelatedRowRepository(Repository):
    async def matching(
        self,
        kind: Kind,
        columns: Sequence[str],
        keys: Sequence[tuple[Any, ...]],
        order: Sequence[tuple[str, bool]] = (),
    ) -> dict[tuple[Any, ...], list[Any]]:
        """The tenant's rows of `kind` whose `columns` equal one of `keys`, grouped by key, each
        group in `order` ((column, descending) pairs). One statement for the whole batch."""
        model = kind.model
        env = SqlEnv(literal(self.tenant_id), literal(None))
        matched = tuple_(*(getattr(model, name) for name in columns)).in_(list(set(keys)))
        ordering = [getattr(model, name).desc() if descending else getattr(model, name) for name, descending in order]
        statement = select(model).where(kind.scope.condition(model.__table__.c, env), matched).order_by(*ordering)
        grouped: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for row in (await self.uow.execute(statement)).scalars():
            grouped[tuple(getattr(row, name) for name in columns)].append(row)
        return grouped
