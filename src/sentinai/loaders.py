"""Per-request DataLoaders: every nested field loads through one batched repository call.

Built fresh for each request (a loader's cache must never outlive its request or cross
tenants). Each batch function makes one SQL statement for all the keys collected in
one tick of the event loop, so a request's statement count follows the query's shape,
not the number of rows it returns.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader

from sentinai.db import models
from sentinai.repositories.events import EventFilter
from sentinai.repositories.insights import SimilarCase
from sentinai.repositories.pagination import Page
from sentinai.repositories.unit_of_work import UnitOfWork

K = TypeVar("K", bound=Hashable)
Reader = Callable[[], Awaitable[UnitOfWork]]


@dataclass(frozen=True)
class EventsKey:
    exception_id: str
    first: int
    after: str | None
    where: EventFilter
    newest_first: bool = False


def _loader(batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader:
    return DataLoader(batch_load_fn=batch, max_batch_size=1000)


class Loaders:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self.exception = _loader(self._exceptions)
        self.events = _loader(self._events)
        self.event_count = _loader(self._event_counts)
        self.playbook = _loader(self._playbooks)
        self.steps = _loader(self._steps)
        self.tool = _loader(self._tools)
        self.plans = _loader(self._plans)
        self.similar = _loader(self._similar)
        self.entity_history = _loader(self._entity_history)
        self.entity_history_count = _loader(self._entity_history_count)
        self.policy_pack = _loader(self._policy_packs)
        self.latest_policy_pack = _loader(self._latest_policy_pack)
        self._node = _loader(self._nodes)

    async def _exceptions(self, ids: list[str]) -> list[models.ExceptionRecord | None]:
        found = await (await self._reader()).exceptions.get_many(ids)
        return [found.get(exception_id) for exception_id in ids]

    async def _events(self, keys: list[EventsKey]) -> list[Page[models.ExceptionEvent]]:
        """Keys asking for the same page shape share one statement."""
        shapes: dict[tuple, list[str]] = defaultdict(list)
        for key in keys:
            shapes[(key.first, key.after, key.where, key.newest_first)].append(key.exception_id)
        uow = await self._reader()
        pages: dict[tuple, Page[models.ExceptionEvent]] = {}
        for shape, exception_ids in shapes.items():
            found = await uow.events.events_for(exception_ids, *shape)
            pages.update({(*shape, exception_id): page for exception_id, page in found.items()})
        return [pages[(key.first, key.after, key.where, key.newest_first, key.exception_id)] for key in keys]

    async def _event_counts(self, keys: list[tuple[str, EventFilter]]) -> list[int]:
        by_filter: dict[EventFilter, list[str]] = defaultdict(list)
        for exception_id, where in keys:
            by_filter[where].append(exception_id)
        uow = await self._reader()
        counts: dict[tuple[str, EventFilter], int] = {}
        for where, exception_ids in by_filter.items():
            found = await uow.events.count_for(exception_ids, where)
            counts.update({(exception_id, where): count for exception_id, count in found.items()})
        return [counts[key] for key in keys]

    async def _playbooks(self, ids: list[int]) -> list[models.Playbook | None]:
        found = await (await self._reader()).playbooks.get_many(ids)
        return [found.get(playbook_id) for playbook_id in ids]

    async def _steps(self, playbook_ids: list[int]) -> list[list[models.PlaybookStep]]:
        found = await (await self._reader()).playbooks.steps_for(playbook_ids)
        return [found.get(playbook_id, []) for playbook_id in playbook_ids]

    async def _tools(self, ids: list[int]) -> list[models.ToolDefinition | None]:
        found = await (await self._reader()).tools.get_many(ids)
        return [found.get(tool_id) for tool_id in ids]

    async def _plans(self, exception_ids: list[str]) -> list[list[models.RemediationPlan]]:
        found = await (await self._reader()).remediation_plans.plans_for(exception_ids)
        return [found.get(exception_id, []) for exception_id in exception_ids]

    async def _similar(self, keys: list[tuple[str, int]]) -> list[list[SimilarCase]]:
        by_size: dict[int, list[str]] = defaultdict(list)
        for exception_id, first in keys:
            by_size[first].append(exception_id)
        uow = await self._reader()
        found: dict[tuple[str, int], list[SimilarCase]] = {}
        for first, exception_ids in by_size.items():
            cases = await uow.insights.similar_for(exception_ids, first)
            found.update({(exception_id, first): rows for exception_id, rows in cases.items()})
        return [found[key] for key in keys]

    async def _entity_history(self, keys: list[tuple[str, int, str | None]]) -> list[Page[models.ExceptionRecord]]:
        shapes: dict[tuple[int, str | None], list[str]] = defaultdict(list)
        for exception_id, first, after in keys:
            shapes[(first, after)].append(exception_id)
        uow = await self._reader()
        found: dict[tuple[str, int, str | None], Page[models.ExceptionRecord]] = {}
        for (first, after), exception_ids in shapes.items():
            pages = await uow.insights.entity_history_for(exception_ids, first, after)
            found.update({(exception_id, first, after): page for exception_id, page in pages.items()})
        return [found[key] for key in keys]

    async def _entity_history_count(self, exception_ids: list[str]) -> list[int]:
        counts = await (await self._reader()).insights.count_entity_history_for(exception_ids)
        return [counts[exception_id] for exception_id in exception_ids]

    async def _policy_packs(self, versions: list[int]) -> list[models.TenantPolicyPackVersion | None]:
        found = await (await self._reader()).policy_packs.get_many(versions)
        return [found.get(version) for version in versions]

    async def _latest_policy_pack(self, keys: list[str]) -> list[models.TenantPolicyPackVersion | None]:
        latest = await (await self._reader()).policy_packs.get()
        return [latest for _ in keys]

    async def node(self, kind: str, node_ids: Sequence[str]) -> list[Any]:
        """Rows of one kind by the ids inside global ids; None for ids that match nothing."""
        return await self._node.load_many([(kind, node_id) for node_id in node_ids])

    async def _nodes(self, keys: list[tuple[str, str]]) -> list[Any]:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, node_id in keys:
            by_kind[kind].append(node_id)
        uow = await self._reader()
        found: dict[tuple[str, str], Any] = {}
        for kind, node_ids in by_kind.items():
            parse, fetch = NODE_KINDS[kind]
            parsed = {node_id: value for node_id in node_ids if (value := parse(node_id)) is not None}
            rows = await fetch(uow, list(parsed.values())) if parsed else {}
            found.update({(kind, node_id): rows.get(value) for node_id, value in parsed.items()})
        return [found.get(key) for key in keys]

    def prime_exceptions(self, rows: Sequence[models.ExceptionRecord]) -> None:
        for row in rows:
            self.exception.prime(row.exception_id, row)


def _integer(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _pack_key(text: str) -> tuple[str, int] | None:
    domain, _, version = text.rpartition("@")
    return (domain, int(version)) if domain and _integer(version) is not None else None


# kind -> (parse the id inside a global id, fetch a batch of parsed ids as {id: row})
NODE_KINDS: dict[str, tuple[Callable[[str], Any], Callable[[UnitOfWork, list[Any]], Awaitable[dict]]]] = {
    "event": (_uuid, lambda uow, ids: uow.events.get_many(ids)),
    "step": (_integer, lambda uow, ids: uow.playbooks.get_steps(ids)),
    "plan": (_integer, lambda uow, ids: uow.remediation_plans.get_many(ids)),
    "tenant": (lambda text: text, lambda uow, ids: uow.tenants.get_many(ids)),
    "audit": (_integer, lambda uow, ids: uow.audit.get_many(ids)),
    "api_key": (_uuid, lambda uow, ids: uow.api_keys.get_many(ids)),
    "domain_pack": (_pack_key, lambda uow, keys: uow.domain_packs.get_many(keys)),
    "policy_pack": (_integer, lambda uow, versions: uow.policy_packs.get_many(versions)),
    "playbook": (_integer, lambda uow, ids: uow.playbooks.get_many(ids)),
    "tool": (_integer, lambda uow, ids: uow.tools.get_many(ids)),
    "exception": (lambda text: text, lambda uow, ids: uow.exceptions.get_many(ids)),
}
