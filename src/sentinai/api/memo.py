"""Memos of the request pipeline, bounded in bytes overall and per tenant.

Five memos remember work done for a document text: its parse (`api.schema.ParsedDocuments`),
its validation (`api.query_cost.ValidationMemo`), its plan (`api.planner.Planner`) and its
prepared answer (the two memos of `api.prepared.PreparedReads`). Each is a `ByteMemo`:

- **Bounded in bytes, not entries.** Whitespace and commas are no tokens and a comment of any
  length is one, so a client can send documents of a mebibyte within the token limit at one or
  two points each; counted in entries, 2,048 of them pinned
  3 GB. An entry's size is an estimate (`text_bytes`, `syntax_bytes`, `plan_bytes`), never a
  measurement: measuring a parsed document would walk it on every request.
- **A share per tenant.** A tenant's entries together hold at most `tenant_share` of the memo;
  past it the tenant's own least recently used entries go, never another tenant's. An entry
  holds whoever stored it (its owner), although every tenant whose key matches may use it.
- **Too big to be worth it.** An entry larger than an eighth of a tenant's share is not
  memoised at all (the work is simply done again): a tenant's share holds at least eight of its
  largest documents, so one huge document cannot flush the working set of the tenant sending it.

Whether a key is safe across tenants is argued where each memo builds its key; the memo itself
never looks inside keys or values.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache
from graphql import DocumentNode

from sentinai import telemetry

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SYNTAX_BYTES_PER_CHARACTER = 100
"""A parsed document's size per character of its text. graphql-core keeps every token, comments
included, as an object linked into the document (about 190 bytes each) next to the nodes: measured
with tracemalloc, dense documents take 50–107 bytes per character, a mebibyte of 62-character
comment lines 5, and a mebibyte of `#` lines 96 (a token every two characters, the worst case)."""
PLAN_BYTES_PER_CHARACTER = 50
"""A plan's size per character of its document: a shape (a frozen dataclass of a few slots, 100–200
bytes) per selected field, and a field name with its separator takes at least 3–4 characters."""
LARGEST_SHARE_FRACTION = 8
"""An entry is memoised only when a tenant's share holds at least this many like it."""


def text_bytes(text: str) -> int:
    """What a text itself holds in memory (its characters, 1–4 bytes each, and the header)."""
    return sys.getsizeof(text)


def syntax_bytes(document: DocumentNode) -> int:
    """A parsed document's estimated size, from the length of its text (`SYNTAX_BYTES_PER_CHARACTER`)."""
    return SYNTAX_BYTES_PER_CHARACTER * text_length(document)


def plan_bytes(text_length: int) -> int:
    """A plan's estimated size, from the length of its document's text (`PLAN_BYTES_PER_CHARACTER`)."""
    return PLAN_BYTES_PER_CHARACTER * text_length


def text_length(document: DocumentNode) -> int:
    """The length of the text `document` was parsed from (0 for one built without locations)."""
    loc = document.loc
    return len(loc.source.body) if loc is not None else 0


@dataclass(frozen=True)
class MemoBounds:
    """What one memo may hold: `max_bytes` in all, `tenant_share` of it per tenant."""

    max_bytes: int = 32 * 1024 * 1024
    tenant_share: float = 0.25

    @property
    def tenant_bytes(self) -> int:
        return int(self.max_bytes * self.tenant_share)

    @property
    def largest_entry(self) -> int:
        return self.tenant_bytes // LARGEST_SHARE_FRACTION


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    size: int
    owner: str


class _Evicting(LRUCache):
    """An LRU cache that says which key it evicted (cachetools evicts through `popitem`)."""

    def __init__(
        self, maxsize: int, getsizeof: Callable[[object], int], evicted: Callable[[object, object], None]
    ) -> None:
        super().__init__(maxsize, getsizeof)
        self._evicted = evicted

    def popitem(self) -> tuple[object, object]:
        key, value = super().popitem()
        self._evicted(key, value)
        return key, value


class ByteMemo(Generic[K, V]):
    """A least-recently-used memo bounded in bytes overall and per owner (a tenant's budget key)."""

    def __init__(self, name: str, bounds: MemoBounds | None = None) -> None:
        self.name, self.bounds = name, bounds or MemoBounds()
        self._entries = _Evicting(self.bounds.max_bytes, _entry_size, self._evicted)
        self._owned: dict[str, _Evicting] = {}
        """Per owner, its keys with their sizes: evicting from it evicts the entry."""

    def get(self, key: K) -> V | None:
        entry: _Entry[V] | None = self._entries.get(key)
        if entry is None:
            return None
        self._owned[entry.owner].get(key)  # most recently used in its owner's share too
        return entry.value

    def put(self, key: K, value: V, size: int, owner: str) -> bool:
        """Remember `value` under `key` for `owner`; False when it is too big to be worth it."""
        if size > self.bounds.largest_entry:
            return False
        self.discard(key)
        owned = self._owned.get(owner)
        if owned is None:
            owned = self._owned[owner] = _Evicting(self.bounds.tenant_bytes, int, self._forget)
        owned[key] = size
        self._entries[key] = _Entry(value, size, owner)
        telemetry.MEMO_BYTES.labels(self.name).set(self.bytes)
        return True

    def discard(self, key: K) -> None:
        entry: _Entry[V] | None = self._entries.pop(key, None)
        if entry is not None:
            self._disown(key, entry.owner)

    @property
    def bytes(self) -> int:
        return self._entries.currsize

    def owner_bytes(self, owner: str) -> int:
        owned = self._owned.get(owner)
        return 0 if owned is None else owned.currsize

    def __len__(self) -> int:
        return len(self._entries)

    def _evicted(self, key: object, entry: object) -> None:
        assert isinstance(entry, _Entry)
        self._disown(key, entry.owner)

    def _forget(self, key: object, _size: object) -> None:
        """An owner's share evicted `key`: the entry goes too."""
        self._entries.pop(key, None)

    def _disown(self, key: object, owner: str) -> None:
        """The memo evicted `key` (or it is replaced): its owner no longer holds it."""
        owned = self._owned.get(owner)
        if owned is not None and owned.pop(key, None) is not None and not owned:
            del self._owned[owner]


def _entry_size(entry: _Entry) -> int:
    return entry.size
