"""Per-request DataLoaders: every nested field loads through one batched repository call.

Built fresh for each request (a loader's cache must never outlive its request or cross
tenants). Each batch function makes one SQL statement for all the keys collected in
one tick of the event loop, so a request's statement count follows the query's shape,
not the number of rows it returns.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from aiodataloader import DataLoader

from sentinai.db import models
from sentinai.domain.validation import text_problem
from sentinai.errors import DomainError
from sentinai.repositories.events import EventFilter
from sentinai.repositories.unit_of_work import UnitOfWork

Reader = Callable[[], Awaitable[UnitOfWork]]


@dataclass(frozen=True)
class EventsKey:
    exception_id: str
    first: int
    after: str | None
    where: EventFilter
    newest_first: bool = False


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


Fetch = Callable[[UnitOfWork, list[Any]], Awaitable[dict[Any, Any]]]
ShapedFetch = Callable[[UnitOfWork, list[Any], Any], Awaitable[dict[Any, Any]]]


class Loaders:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._batches: set[asyncio.Task[Any]] = set()
        # Rows by id: one loader per kind, shared by nested fields and by `node(id:)`.
        self._by_kind = {kind: self._by_key(fetch) for kind, (_, fetch) in NODE_KINDS.items()}
        self.exception = self._by_kind["exception"]
        self.playbook = self._by_kind["playbook"]
        self.tool = self._by_kind["tool"]
        self.policy_pack = self._by_kind["policy_pack"]
        self.steps = self._by_key(lambda uow, ids: uow.playbooks.steps_for(ids))
        self.plans = self._by_key(lambda uow, ids: uow.remediation_plans.plans_for(ids))
        self.entity_history_count = self._by_key(lambda uow, ids: uow.insights.count_entity_history_for(ids))
        self.latest_policy_pack = self._loader(self._latest_policy_pack)
        # Pages and counts: keys asking for the same shape (page size, cursor, filter) share a statement.
        self.events = self._by_shape(
            lambda key: ((key.first, key.after, key.where, key.newest_first), key.exception_id),
            lambda uow, ids, shape: uow.events.events_for(ids, *shape),
        )
        self.event_count = self._by_shape(
            lambda key: (key[1], key[0]), lambda uow, ids, where: uow.events.count_for(ids, where)
        )
        self.similar = self._by_shape(
            lambda key: (key[1], key[0]), lambda uow, ids, first: uow.insights.similar_for(ids, first)
        )
        self.entity_history = self._by_shape(
            lambda key: ((key[1], key[2]), key[0]),
            lambda uow, ids, shape: uow.insights.entity_history_for(ids, *shape),
        )

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

    async def node(self, kind: str, node_ids: Sequence[str]) -> list[Any]:
        """Rows of one kind by the ids inside global ids; None for ids that match nothing."""
        parse = NODE_KINDS[kind][0]
        parsed = [parse(node_id) for node_id in node_ids]
        rows = await self._by_kind[kind].load_many([value for value in parsed if value is not None])
        found = iter(rows)
        return [next(found) if value is not None else None for value in parsed]

    def prime_exceptions(self, rows: Sequence[models.ExceptionRecord]) -> None:
        for row in rows:
            self.exception.prime(row.exception_id, row)


_CANONICAL_INTEGER = re.compile(r"[1-9][0-9]{0,17}")


def _integer(text: str) -> int | None:
    """Only the canonical spelling of an id: ASCII digits, no sign, no leading zero (`Playbook:١`
    and `Playbook:01` are not `Playbook:1`)."""
    return int(text) if _CANONICAL_INTEGER.fullmatch(text) else None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


def _text(text: str) -> str | None:
    return text if text_problem(text) is None else None


def _pack_key(text: str) -> tuple[str, int] | None:
    domain, _, version = text.rpartition("@")
    number = _integer(version)
    return (domain, number) if domain and number is not None and text_problem(domain) is None else None


# kind -> (parse the id inside a global id, fetch a batch of parsed ids as {id: row})
NODE_KINDS: dict[str, tuple[Callable[[str], Any], Callable[[UnitOfWork, list[Any]], Awaitable[dict]]]] = {
    "event": (_uuid, lambda uow, ids: uow.events.get_many(ids)),
    "step": (_integer, lambda uow, ids: uow.playbooks.get_steps(ids)),
    "plan": (_integer, lambda uow, ids: uow.remediation_plans.get_many(ids)),
    "tenant": (_text, lambda uow, ids: uow.tenants.get_many(ids)),
    "audit": (_integer, lambda uow, ids: uow.audit.get_many(ids)),
    "api_key": (_uuid, lambda uow, ids: uow.api_keys.get_many(ids)),
    "domain_pack": (_pack_key, lambda uow, keys: uow.domain_packs.get_many(keys)),
    "policy_pack": (_integer, lambda uow, versions: uow.policy_packs.get_many(versions)),
    "playbook": (_integer, lambda uow, ids: uow.playbooks.get_many(ids)),
    "tool": (_integer, lambda uow, ids: uow.tools.get_many(ids)),
    "exception": (_text, lambda uow, ids: uow.exceptions.get_many(ids)),
}
