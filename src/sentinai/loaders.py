"""Per-request DataLoaders: every nested field loads through one batched repository call.

Built fresh for each request (a loader's cache must never outlive its request or cross
tenants). Each batch function makes one SQL statement for all the keys collected in
one tick of the event loop, so a request's statement count follows the query's shape,
not the number of rows it returns. Rows by id and rows by relation come from the catalogue:
a node kind's `Node.fetch`, and a relation's join columns (`repositories.related`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiodataloader import DataLoader

from sentinai.catalog import KINDS, NODE_KINDS, Through, ToMany, ToOne
from sentinai.db import models
from sentinai.errors import DomainError
from sentinai.repositories.events import EventPage
from sentinai.repositories.unit_of_work import UnitOfWork

Reader = Callable[[], Awaitable[UnitOfWork]]


@dataclass(frozen=True)
class EventsKey:
    exception_id: str
    page: EventPage


class SharedLoader(DataLoader):
    """A DataLoader whose results are shared, never owned, by the fields that wait for them.

    Every field asking for the same key awaits one future. graphql-core cancels the sibling
    fields of a field that failed; a cancelled task cancels the future it awaits, so without
    the shield one failing alias would cancel the row for every other alias and leave live
    resolvers holding a `CancelledError`.
    """

    def load(self, key: Any) -> asyncio.Future[Any]:
        shared = super().load(key)
        shared.add_done_callback(_retrieved)
        return asyncio.shield(shared)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a failed shared result as seen: when all its waiters were cancelled, nobody else will."""
    if not future.cancelled():
        future.exception()


Fetch = Callable[[UnitOfWork, list[Any]], Awaitable[Mapping[Any, Any]]]
ShapedFetch = Callable[[UnitOfWork, list[Any], Any], Awaitable[dict[Any, Any]]]


class Loaders:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._batches: set[asyncio.Task[Any]] = set()
        # Rows by id: one loader per node kind, shared by relations and by `node(id:)`.
        self.by_kind = {kind.name: self._by_key(kind.node.fetch) for kind in NODE_KINDS.values() if kind.node}
        self._related: dict[tuple[str, str], DataLoader] = {}
        self.exception = self.by_kind["exception"]
        self.entity_history_count = self._by_key(lambda uow, ids: uow.insights.count_entity_history_for(ids))
        self.latest_policy_pack = self._loader(self._latest_policy_pack)
        # Pages and counts: keys asking for the same shape (page size, cursor, filter) share a statement.
        self.events = self._by_shape(
            lambda key: (key.page, key.exception_id), lambda uow, ids, page: uow.events.events_for(ids, page)
        )
        self.event_count = self._by_shape(
            lambda key: (key[1], key[0]), lambda uow, ids, where: uow.events.count_for(ids, where)
        )
        self.similar = self._by_shape(
            lambda key: (key[1], key[0]), lambda uow, ids, first: uow.insights.similar_for(ids, first)
        )
        self.entity_history = self._by_shape(
            lambda key: (key[1], key[0]), lambda uow, ids, page: uow.insights.entity_history_for(ids, page)
        )

    # -- relations of the catalogue

    async def one(self, kind: str, relation: str, row: Any) -> Any:
        """The row `relation` of `kind` points at from `row`, or None."""
        key = self._join_key(kind, relation, row)
        return None if key is None else await self._relation(kind, relation).load(key)

    async def many(self, kind: str, relation: str, row: Any) -> list[Any]:
        """The rows of the to-many `relation` of `kind` from `row`, in the relation's order."""
        key = self._join_key(kind, relation, row)
        return [] if key is None else await self._relation(kind, relation).load(key)

    async def through(self, kind: str, relation: str, row: Any) -> list[Any]:
        """The distinct rows a `Through` relation of `kind` reaches from `row`, in the order first reached."""
        declared = KINDS[kind].relations[relation]
        assert isinstance(declared, Through)
        via = await self.many(kind, declared.via, row)
        via_kind = KINDS[kind].relations[declared.via].target
        reached = await asyncio.gather(*(self.one(via_kind, declared.then, step) for step in via))
        then = KINDS[via_kind].relations[declared.then]
        assert isinstance(then, ToOne)
        distinct: dict[tuple[Any, ...], Any] = {}
        for target in reached:
            if target is not None:
                distinct.setdefault(tuple(getattr(target, theirs) for _, theirs in then.on), target)
        return list(distinct.values())

    def _join_key(self, kind: str, relation: str, row: Any) -> tuple[Any, ...] | None:
        declared = KINDS[kind].relations[relation]
        assert isinstance(declared, (ToOne, ToMany))
        key = tuple(getattr(row, ours) for ours, _ in declared.on)
        return None if any(value is None for value in key) else key

    def _relation(self, kind: str, name: str) -> DataLoader:
        if (kind, name) not in self._related:
            self._related[(kind, name)] = self._relation_loader(KINDS[kind].relations[name])
        return self._related[(kind, name)]

    def _relation_loader(self, relation: Any) -> DataLoader:
        target = KINDS[relation.target]
        columns = tuple(theirs for _, theirs in relation.on)
        if isinstance(relation, ToOne):

            async def one(uow: UnitOfWork, keys: list[Any]) -> dict[Any, Any]:
                found = await uow.related.matching(target, columns, keys)
                return {key: rows[0] for key, rows in found.items()}

            return self._by_key(one)

        async def many(uow: UnitOfWork, keys: list[Any]) -> dict[Any, Any]:
            found = await uow.related.matching(target, columns, keys, relation.order)
            return {key: found.get(key, []) for key in keys}

        return self._by_key(many)

    # -- building loaders

    def _loader(self, batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader:
        async def tracked(keys: list[Any]) -> list[Any]:
            task = asyncio.current_task()
            assert task is not None
            self._batches.add(task)
            try:
                return await batch(keys)
            finally:
                self._batches.discard(task)

        return SharedLoader(batch_load_fn=tracked, max_batch_size=1000)

    async def settle(self) -> None:
        """Wait for every batch still running (their statements finish; nobody reads the results)."""
        await asyncio.sleep(0)  # let batches scheduled in this tick start, so they are waited for too
        while self._batches:
            await asyncio.wait(set(self._batches))

    def _by_key(self, fetch: Fetch) -> DataLoader:
        """A loader whose batch is one repository call returning `{key: value}`; missing keys load None."""

        async def batch(keys: list[Any]) -> list[Any]:
            found = await fetch(await self._reader(), keys)
            return [found.get(key) for key in keys]

        return self._loader(batch)

    def _by_shape(self, split: Callable[[Any], tuple[Hashable, Any]], fetch: ShapedFetch) -> DataLoader:
        """A loader whose keys are (shape, id): one repository call per distinct shape in a batch."""

        async def batch(keys: list[Any]) -> list[Any]:
            ids_by_shape: dict[Hashable, list[Any]] = defaultdict(list)
            for key in keys:
                shape, item = split(key)
                ids_by_shape[shape].append(item)
            uow = await self._reader()
            found: dict[tuple[Hashable, Any], Any] = {}
            for shape, ids in ids_by_shape.items():
                try:
                    values = await fetch(uow, ids, shape)
                except DomainError as error:  # e.g. a bad cursor: it fails the fields that sent it, no others
                    values = dict.fromkeys(ids, error)
                found.update({(shape, item): value for item, value in values.items()})
            return [found[split(key)] for key in keys]

        return self._loader(batch)

    async def _latest_policy_pack(self, keys: list[str]) -> list[models.TenantPolicyPackVersion | None]:
        latest = await (await self._reader()).policy_packs.get()
        return [latest for _ in keys]

    async def node(self, type_name: str, node_ids: Sequence[str], tenant_id: str | None) -> list[Any]:
        """Rows of one node kind by the ids inside global ids, read for `tenant_id`; None for ids
        that match nothing there."""
        kind = NODE_KINDS[type_name]
        assert kind.node is not None
        parsed = [kind.node.key_of(node_id, tenant_id) for node_id in node_ids]
        rows = await self.by_kind[kind.name].load_many([value for value in parsed if value is not None])
        found = iter(rows)
        return [next(found) if value is not None else None for value in parsed]

    def prime_exceptions(self, rows: Sequence[models.ExceptionRecord]) -> None:
        for row in rows:
            self.exception.prime(row.exception_id, row)
