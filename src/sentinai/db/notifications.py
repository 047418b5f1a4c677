"""Wake-ups for live subscriptions, and news of revoked credentials: one LISTEN connection per
process, not one per subscriber.

The change log's trigger runs `pg_notify('sentinai_changes', tenant_id)`, delivered when the
writing transaction commits. A notification only wakes the tenant's subscribers; they then read
the log by position, so a lost notification (the listening connection dropped) delays a
delivery but never loses it: on reconnecting, every subscriber is woken to read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

CHANNEL = "sentinai_changes"
CREDENTIALS_CHANNEL = "sentinai_credentials"
"""Notified (at commit) when a key is revoked or a tenant's status changes: every process forgets
its cached key lookups at once instead of trusting them for SENTINAI_AUTH_CACHE_SECONDS."""
RECONNECT_SECONDS = (0.25, 0.5, 1.0, 2.0, 5.0)

log = logging.getLogger(__name__)


class ChangeNotifier:
    """Holds one pooled connection LISTENing on the change log's channel while anyone subscribes,
    and gives it back when the last subscriber leaves."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._generations: defaultdict[str, int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None
        self._credentials_changed: list[Callable[[], None]] = []
        self._always = False
        self.listening = asyncio.Event()

    def keep_listening(self) -> None:
        """Listen from now on, subscribers or not (a serving process: revocations must reach it)."""
        self._always = True
        self._ensure_running()

    def on_credentials_changed(self, forget: Callable[[], None]) -> None:
        self._credentials_changed.append(forget)

    @contextlib.contextmanager
    def watch(self, tenant_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `tenant_id` commits a change (and after a reconnection)."""
        self._ensure_running()
        woken = asyncio.Event()
        self._waiters[tenant_id].add(woken)
        try:
            yield woken
        finally:
            self._waiters[tenant_id].discard(woken)
            if not self._waiters[tenant_id]:
                del self._waiters[tenant_id]
            if not self._waiters and not self._always and self._task is not None:
                self._task.cancel()  # nobody listens: the connection goes back to the pool
                self._task = None

    def generation(self, tenant_id: str) -> int:
        """How many wake-ups `tenant_id` has had: a read made after this count was taken has
        seen every commit notified up to it."""
        return self._generations[tenant_id]

    def watching(self, tenant_id: str) -> bool:
        """Whether any subscriber of `tenant_id` still waits."""
        return tenant_id in self._waiters

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen(), name="sentinai-change-listener")

    def _notified(self, connection: Any, pid: int, channel: str, tenant_id: str) -> None:
        self._generations[tenant_id] += 1
        for woken in self._waiters.get(tenant_id, ()):
            woken.set()

    def _credentials(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        for forget in self._credentials_changed:
            forget()

    def _wake_everyone(self) -> None:
        for tenant_id, events in self._waiters.items():
            self._generations[tenant_id] += 1
            for woken in events:
                woken.set()

    async def _listen(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    driver = raw.driver_connection
                    assert driver is not None
                    await driver.add_listener(CHANNEL, self._notified)
                    await driver.add_listener(CREDENTIALS_CHANNEL, self._credentials)
                    try:
                        attempt = 0
                        self.listening.set()
                        self._wake_everyone()  # what committed while nobody listened is read now
                        self._credentials(driver, 0, CREDENTIALS_CHANNEL, "")  # and what was revoked
                        while not driver.is_closed():
                            await asyncio.sleep(1.0)
                    finally:
                        if not driver.is_closed():  # the connection goes back to the pool: unlisten it
                            with contextlib.suppress(Exception):
                                await asyncio.shield(driver.remove_listener(CHANNEL, self._notified))
                                await asyncio.shield(driver.remove_listener(CREDENTIALS_CHANNEL, self._credentials))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("change listener lost its connection (%s); reconnecting", type(error).__name__)
            finally:
                self.listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1
