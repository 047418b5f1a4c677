"""The dispatcher: every tenant's change log delivered to its webhook endpoints, at least once, in
order, signed (Standard Webhooks), and no tenant able to hold up another.

Delivery is by position, like every other reader of the change log: an endpoint's `position` is
the last change a receiver acknowledged with a 2xx, so a crash between a delivery and its record
re-sends that change (with the same `webhook-id`, for the receiver to drop) and never skips one.

Sharing, between processes: a process claims an endpoint (`lease`) for one request's length and
renews the claim with every acknowledged message (`advance`), in the statement that moves the
position. The claim cannot lapse while its holder is sending, so no other process sends that
endpoint anything until the round ends: no change is POSTed by two processes, and order holds.

Sharing, between tenants, in one process: rounds run concurrently, at most `concurrency` at once
and at most `concurrency_per_tenant` of one tenant; a round stops starting requests after
`round_seconds` and its endpoint queues again behind the others; every request has `timeout_seconds`
for the whole exchange. A tenant whose receivers are slow holds at most its share of the slots,
each for at most a round, and never delays another tenant's round.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sentinai.catalog import KINDS
from sentinai.db import models
from sentinai.db.session import Scope
from sentinai.domain import webhooks as rules
from sentinai.domain.webhooks import WebhookPolicy
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services import webhook_targets as targets
from sentinai.wire import encode_json

log = logging.getLogger(__name__)

BATCH = 50
"""Changes one endpoint gets per round at most (in order, stopping at the first failure)."""


def message_of(tenant_id: str, change: models.ChangeLog, row: Any) -> dict[str, Any]:
    """The JSON body of one change: its kind's catalogue values, in the API's field names. An audit
    entry's `details` go whole: an endpoint is registered, and read, by the tenant's admins."""
    kind = "event" if change.source == "exception_event" else "audit"
    values = {_camel(name): _plain(value) for name, value in KINDS[kind].values(row).items()}
    values["id"] = values.pop("key")
    if kind == "audit":
        values["details"] = row.details
    data: dict[str, Any] = {"tenantId": tenant_id, "position": change.position, "exceptionId": change.exception_id}
    data["event" if kind == "event" else "auditEntry"] = values
    message_type = "exception.event.recorded" if kind == "event" else "audit.entry.recorded"
    return {"type": message_type, "timestamp": change.recorded_at.isoformat(), "data": data}


@dataclass
class Attempt:
    position: int
    status: int | None
    error: str | None
    ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDispatcher:
    """Starts rounds for due endpoints within the shares, every `poll_seconds` (one per process is
    enough; more share the work through claims)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        policy: WebhookPolicy,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.policy = policy
        self.client = client or httpx.AsyncClient(timeout=policy.timeout_seconds, follow_redirects=False)
        self.running: dict[tuple[str, int], asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.start_due()
                except Exception:
                    log.exception("webhook scheduling failed; trying again")
                await asyncio.sleep(self.policy.poll_seconds)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Cancel the rounds under way (their claims lapse; their receivers get those changes again)."""
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def deliver_due(self) -> int:
        """One pass: start every due endpoint the shares allow, wait for those rounds; how many ran."""
        started = await self.start_due()
        await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    async def start_due(self) -> list[asyncio.Task[None]]:
        """Start a round for each due endpoint that fits in the free slots and its tenant's share."""
        free = self.policy.concurrency - len(self.running)
        if free <= 0:
            return []
        async with UnitOfWork(self.session_factory, Scope.platform(), read_only=True) as uow:
            due = await uow.webhooks.due(max(free, 100), self.policy.concurrency_per_tenant)
        return [self._start(tenant_id, endpoint_id) for tenant_id, endpoint_id in self._fitting(due, free)]

    def _fitting(self, due: list[tuple[str, int]], free: int) -> list[tuple[str, int]]:
        held = Counter(tenant_id for tenant_id, _ in self.running)
        chosen = []
        for tenant_id, endpoint_id in due:
            if len(chosen) < free and held[tenant_id] < self.policy.concurrency_per_tenant:
                if (tenant_id, endpoint_id) not in self.running:
                    held[tenant_id] += 1
                    chosen.append((tenant_id, endpoint_id))
        return chosen

    def _start(self, tenant_id: str, endpoint_id: int) -> asyncio.Task[None]:
        key = (tenant_id, endpoint_id)
        task = asyncio.create_task(self._guarded(tenant_id, endpoint_id), name=f"webhook-{tenant_id}-{endpoint_id}")
        self.running[key] = task
        task.add_done_callback(lambda _: self.running.pop(key, None))
        return task

    async def _guarded(self, tenant_id: str, endpoint_id: int) -> None:
        try:
            await self.deliver(tenant_id, endpoint_id)
        except Exception:
            log.exception("webhook round of endpoint %s (tenant %s) failed", endpoint_id, tenant_id)

    async def deliver(self, tenant_id: str, endpoint_id: int) -> None:
        """One round of one endpoint: claim it, send its next changes in order while the claim,
        the receiver and the round's time allow, record the outcome, release the claim."""
        scope = Scope.tenant(tenant_id)
        async with UnitOfWork(self.session_factory, scope) as uow:
            endpoint = await uow.webhooks.lease(endpoint_id, self.policy.lease_seconds)
            await uow.commit()
        if endpoint is None or endpoint.leased_until is None:
            return  # not due, or another process holds it
        changes, rows = await self._pending(scope, endpoint.position)
        round_ = _Round(self, tenant_id, endpoint, endpoint.leased_until)
        failure = await round_.send(changes, rows)
        async with UnitOfWork(self.session_factory, scope) as uow:
            await uow.webhooks.end_round(endpoint_id, round_.token, **self._outcome(endpoint, failure))
            await uow.commit()

    async def _pending(self, scope: Scope, position: int) -> tuple[list[models.ChangeLog], dict[str, Any]]:
        """The next changes after `position`, and the rows they name (by row key)."""
        async with UnitOfWork(self.session_factory, scope, read_only=True) as uow:
            changes = (await uow.changes.after(position, BATCH)).items
            events = await uow.events.get_many([uuid.UUID(c.row_key) for c in changes if c.source == "exception_event"])
            audits = await uow.audit.get_many([int(c.row_key) for c in changes if c.source == "audit_log"])
        rows = {str(key): row for key, row in events.items()} | {str(key): row for key, row in audits.items()}
        return changes, rows

    def _outcome(self, endpoint: models.WebhookEndpoint, failure: str | None) -> dict[str, Any]:
        """The endpoint's health after a round: reset by a success; after a failure, the backoff, and
        past the policy's patience, disabled with its reason."""
        now = _now()
        if failure is None:
            return {"failed_attempts": 0, "failing_since": None, "next_attempt_at": now}
        failing_since = endpoint.failing_since or now
        failed = endpoint.failed_attempts + 1
        delay = rules.retry_delay(failed, self.policy.retry_base_seconds, self.policy.retry_ceiling_seconds)
        values: dict[str, Any] = {
            "failed_attempts": failed,
            "failing_since": failing_since,
            "next_attempt_at": now + delay,
        }
        if (now - failing_since).total_seconds() >= self.policy.disable_after_seconds:
            since = failing_since.isoformat(timespec="seconds")
            values |= {
                "enabled": False,
                "disabled_reason": f"failing since {since} ({failed} attempts); last: {failure}"[:500],
            }
        return values


class _Round:
    """One endpoint's round: the claim's current token, renewed with every acknowledged message."""

    def __init__(
        self, dispatcher: WebhookDispatcher, tenant_id: str, endpoint: models.WebhookEndpoint, token: datetime
    ) -> None:
        self.dispatcher, self.policy = dispatcher, dispatcher.policy
        self.tenant_id, self.endpoint, self.token = tenant_id, endpoint, token
        self.position = endpoint.position
        self.ends = time.monotonic() + self.policy.round_seconds

    async def send(self, changes: list[models.ChangeLog], rows: dict[str, Any]) -> str | None:
        """Send `changes` in order; the failure that stopped the round, or None."""
        if not changes:
            return None
        try:
            target = await targets.target_of(self.endpoint.url, allow_private=self.policy.allow_private_targets)
        except targets.TargetRefused as refused:
            await self._record(Attempt(changes[0].position, None, str(refused), 0))
            return str(refused)
        for change in changes:
            if time.monotonic() >= self.ends:
                return None  # the round's time is up: queue again behind the others
            attempt = await self._post(target, change, rows.get(change.row_key))
            if not await self._record(attempt):
                return None if attempt.ok else attempt.error
            if not attempt.ok:
                return attempt.error
        return None

    async def _record(self, attempt: Attempt) -> bool:
        """Keep the attempt; on a success move the position and renew the claim. Whether the
        round may go on (the claim is still ours and nothing moved the endpoint)."""
        async with UnitOfWork(self.dispatcher.session_factory, Scope.tenant(self.tenant_id)) as uow:
            webhooks = uow.webhooks
            endpoint_id = self.endpoint.endpoint_id
            await webhooks.record_attempt(
                endpoint_id, attempt.position, attempt.status, attempt.error, attempt.ms, attempt.ok
            )
            renewed = None
            if attempt.ok:
                moved = (self.position, attempt.position)
                renewed = await webhooks.advance(endpoint_id, self.token, moved, self.policy.lease_seconds)
            await uow.commit()
        if renewed is not None:
            self.token, self.position = renewed, attempt.position
        return renewed is not None

    async def _post(self, target: targets.Target, change: models.ChangeLog, row: Any) -> Attempt:
        started = time.perf_counter()
        if row is None:
            return Attempt(change.position, None, f"change {change.position} names a row that is not readable", 0)
        try:
            body = encode_json(message_of(self.tenant_id, change, row))
            headers = self._headers(change, body)
            response = await targets.post(self.dispatcher.client, target, body, headers, self.policy.timeout_seconds)
        except Exception as error:  # a failure of this delivery, never one to end the round's task
            return Attempt(change.position, None, self._failure(error), _ms(started))
        status = response.status_code
        return Attempt(change.position, status, None if 200 <= status < 300 else f"HTTP {status}", _ms(started))

    def _headers(self, change: models.ChangeLog, body: bytes) -> dict[str, str]:
        message_id, timestamp = f"chg_{self.tenant_id}_{change.position}", int(time.time())
        return {
            "content-type": "application/json",
            "user-agent": "SentinAI-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": rules.sign(self.endpoint.secret, message_id, timestamp, body),
        }

    def _failure(self, error: Exception) -> str:
        """What the tenant reads of a failed request: its kind, never what a resolver or our network said."""
        if isinstance(error, (TimeoutError, httpx.TimeoutException)):
            return f"delivery failed: no answer within {self.policy.timeout_seconds:g} s"
        if isinstance(error, httpx.ConnectError):
            return "delivery failed: could not connect"
        if isinstance(error, httpx.HTTPError):
            return f"delivery failed: {type(error).__name__}"
        log.warning("webhook request failed unexpectedly", exc_info=error)
        return "delivery failed"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
