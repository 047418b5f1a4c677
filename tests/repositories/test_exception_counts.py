"""`exceptionStats` answered from the write-time counters equals the scan of the exceptions.

The counters (`exception_count`, kept by triggers: alembic/versions/0007_exception_counts.sql)
are a second formulation of the count, so every test here runs both paths on the same data and
requires the same rows in the same order: after generated ingests, re-ingests that change the
domain or type, status transitions and severity changes; after 8 writers doing the same at once;
after a delete. Another tenant's writes are in every test and never reach the answer.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError

from sentinai.db import models
from sentinai.domain.actors import Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.domain.sla import SlaState
from sentinai.errors import InvalidTransitionError, NotFoundError
from sentinai.repositories.exceptions import ExceptionFilter, NewException
from sentinai.repositories.insights import (
    COUNTED_GROUPS,
    Bucket,
    GroupBy,
    StatsQuery,
    StatsRow,
    answerable_from_counts,
)
from sentinai.services.exceptions import ingest_exception, record_exception_event

AGENT = Actor("key:agent", models.ApiKeyRole.AGENT, models.ActorType.AGENT)
DOMAINS = {"Ledger": ("Break", "Mismatch"), "Claims": ("Denial",)}
NOW = datetime(2026, 12, 4, tzinfo=UTC)

# Every grouping the counters answer, with the filters on their columns and both metric sets.
GROUPINGS = [list(groups) for size in range(5) for groups in itertools.combinations(sorted(COUNTED_GROUPS), size)]
FILTERS = [
    ExceptionFilter(),
    ExceptionFilter(statuses=[models.ExceptionStatus.OPEN, models.ExceptionStatus.ESCALATED]),
    ExceptionFilter(severities=[models.Severity.CRITICAL]),
    ExceptionFilter(domain="Ledger"),
    ExceptionFilter(domain="Ledger", type="Mismatch", statuses=[models.ExceptionStatus.RESOLVED]),
    ExceptionFilter(statuses=[], severities=[], now=NOW),
]
METRIC_SETS = [frozenset(), frozenset({"open_count"})]


@dataclass(frozen=True)
class Ingest:
    exception_id: str
    domain: str
    type: str
    severity: models.Severity
    status: models.ExceptionStatus


@dataclass(frozen=True)
class Change:
    exception_id: str
    status: models.ExceptionStatus | None
    severity: models.Severity | None


async def ingest(factory, tenant_id: str, write: Ingest) -> None:
    new = NewException(
        write.exception_id, write.domain, write.type, write.severity, "Core", "ENT-1", status=write.status
    )
    async with factory.uow(tenant_id) as uow:
        await ingest_exception(uow, new, AGENT)
        await uow.commit()


async def change(factory, tenant_id: str, write: Change) -> None:
    """Apply a state change through the agents' event pattern; a transition the lifecycle
    refuses, or one for an exception not ingested yet, changes nothing (its transaction rolls
    back), as it would for a client."""
    envelope = EventEnvelope(
        uuid.uuid4(), write.exception_id, "CommentAdded", models.ActorType.AGENT, "writer", {"text": "moved"},
        StateChange(status=write.status, severity=write.severity),
    )  # fmt: skip
    try:
        async with factory.uow(tenant_id) as uow:
            await record_exception_event(uow, envelope)
            await uow.commit()
    except (InvalidTransitionError, NotFoundError):
        pass


async def apply(factory, tenant_id: str, write: Ingest | Change) -> None:
    await (ingest(factory, tenant_id, write) if isinstance(write, Ingest) else change(factory, tenant_id, write))


def writes(exception_ids: list[str]) -> st.SearchStrategy[Ingest | Change]:
    """Ingests (new ids, or a known id again with another domain or type) and state changes."""
    kind = st.sampled_from(sorted(DOMAINS)).flatmap(
        lambda domain: st.tuples(st.just(domain), st.sampled_from(DOMAINS[domain]))
    )
    severities, statuses = st.sampled_from(models.Severity), st.sampled_from(models.ExceptionStatus)
    new_ids = st.sampled_from(exception_ids)
    ingests = st.builds(lambda i, k, sev, sta: Ingest(i, *k, sev, sta), new_ids, kind, severities, statuses)
    changes = st.builds(Change, new_ids, st.none() | statuses, st.none() | severities)
    return st.one_of(ingests, changes)


def random_write(rng: random.Random, exception_ids: list[str]) -> Ingest | Change:
    exception_id = rng.choice(exception_ids)
    if rng.random() < 0.4:
        domain = rng.choice(sorted(DOMAINS))
        return Ingest(
            exception_id,
            domain,
            rng.choice(DOMAINS[domain]),
            rng.choice(list(models.Severity)),
            rng.choice(list(models.ExceptionStatus)),
        )
    return Change(exception_id, rng.choice([None, *models.ExceptionStatus]), rng.choice([None, *models.Severity]))


async def stats(factory, tenant_id: str, where, group_by, metrics, *, scan: bool) -> list[StatsRow]:
    async with factory.uow(tenant_id, read_only=True) as uow:
        return await uow.insights.stats(StatsQuery(where, tuple(group_by), None, frozenset(metrics)), NOW, scan=scan)


async def assert_counts_equal_scan(factory, tenant_id: str) -> None:
    for group_by, where, metrics in itertools.product(GROUPINGS, FILTERS, METRIC_SETS):
        assert answerable_from_counts(where, group_by, None, metrics)
        counted = await stats(factory, tenant_id, where, group_by, metrics, scan=False)
        scanned = await stats(factory, tenant_id, where, group_by, metrics, scan=True)
        assert counted == scanned, (group_by, where, metrics)


async def other_tenant_writes(factory) -> str:
    """A second tenant with exceptions of the same kinds: its counts must never be read."""
    tenant_b = await factory.tenant("b")
    for number, severity in enumerate(models.Severity):
        await ingest(factory, tenant_b, Ingest(f"B-{number}", "Ledger", "Break", severity, models.ExceptionStatus.OPEN))
    return tenant_b


@pytest.mark.asyncio
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_counts_equal_the_scan_after_generated_ingests_transitions_and_severity_changes(factory, data):
    tenant_a = await factory.tenant("a")
    await other_tenant_writes(factory)
    exception_ids = [f"EXC-{number}" for number in range(6)]

    for write in data.draw(st.lists(writes(exception_ids), min_size=1, max_size=20), label="writes"):
        await apply(factory, tenant_a, write)

    await assert_counts_equal_scan(factory, tenant_a)


@pytest.mark.asyncio
async def test_counts_equal_the_scan_after_8_concurrent_writers_on_shared_exceptions(factory, tenant_a):
    await other_tenant_writes(factory)
    exception_ids = [f"EXC-{number}" for number in range(12)]

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            await apply(factory, tenant_a, random_write(rng, exception_ids))

    await asyncio.gather(*(writer(seed) for seed in range(8)))

    await assert_counts_equal_scan(factory, tenant_a)


@pytest.mark.asyncio
async def test_a_deleted_exception_leaves_the_counts_and_its_group_disappears(factory, tenant_a):
    await factory.exception(tenant_a, "EXC-KEEP", severity=models.Severity.LOW)
    await factory.exception(tenant_a, "EXC-GONE", severity=models.Severity.CRITICAL)
    async with factory.uow(tenant_a) as uow:
        await uow.execute(delete(models.ExceptionRecord).where(models.ExceptionRecord.exception_id == "EXC-GONE"))
        await uow.commit()

    rows = await stats(factory, tenant_a, ExceptionFilter(), [GroupBy.SEVERITY], frozenset(), scan=False)

    assert [(row.keys["severity"], row.count) for row in rows] == [(models.Severity.LOW, 1)]
    await assert_counts_equal_scan(factory, tenant_a)


@pytest.mark.asyncio
async def test_a_tenant_without_exceptions_counts_one_total_row_of_zero_on_both_paths(factory, tenant_a):
    await other_tenant_writes(factory)

    counted = await stats(factory, tenant_a, ExceptionFilter(), [], frozenset({"open_count"}), scan=False)

    assert [(row.count, row.open_count) for row in counted] == [(0, 0)]
    await assert_counts_equal_scan(factory, tenant_a)


@pytest.mark.asyncio
async def test_row_level_security_shows_a_tenant_only_its_own_counters(factory, tenant_a):
    tenant_b = await other_tenant_writes(factory)
    await ingest(factory, tenant_a, Ingest("A-1", "Claims", "Denial", models.Severity.LOW, models.ExceptionStatus.OPEN))

    async with factory.uow(tenant_a, read_only=True) as uow:
        # No tenant condition in the statement: only the policy stands between A and B's rows.
        seen = (await uow.execute(select(models.ExceptionCount.tenant_id, models.ExceptionCount.count))).all()

    assert seen == [(tenant_a, 1)]
    assert tenant_b not in {tenant for tenant, _ in seen}


@pytest.mark.asyncio
async def test_the_app_role_cannot_write_counters(factory, tenant_a):
    async with factory.uow(tenant_a) as uow:
        with pytest.raises(DBAPIError, match="permission denied"):
            await uow.execute(
                text(
                    "INSERT INTO exception_count (tenant_id, domain, type, severity, status, count) "
                    "VALUES (:tenant, 'Ledger', 'Break', 'low', 'open', 1000)"
                ),
                {"tenant": tenant_a},
            )


@pytest.mark.parametrize(
    ("where", "group_by", "bucket", "metrics"),
    [
        (ExceptionFilter(), [GroupBy.OWNER], None, frozenset()),
        (ExceptionFilter(), [GroupBy.SEVERITY, GroupBy.SOURCE_SYSTEM], None, frozenset()),
        (ExceptionFilter(), [GroupBy.SEVERITY], Bucket.DAY, frozenset()),
        (ExceptionFilter(entity="ENT-1"), [GroupBy.SEVERITY], None, frozenset()),
        (ExceptionFilter(owner="ann"), [], None, frozenset()),
        (ExceptionFilter(created_from=NOW), [GroupBy.STATUS], None, frozenset()),
        (ExceptionFilter(sla_states=[SlaState.BREACHED], now=NOW), [GroupBy.STATUS], None, frozenset()),
        (ExceptionFilter(), [GroupBy.STATUS], None, frozenset({"open_count", "total_amount"})),
    ],
)
def test_what_the_counters_do_not_hold_is_left_to_the_scan(where, group_by, bucket, metrics):
    assert not answerable_from_counts(where, group_by, bucket, metrics)


def test_the_supervisors_count_by_severity_and_status_is_answered_from_the_counters():
    assert answerable_from_counts(ExceptionFilter(now=NOW), [GroupBy.SEVERITY, GroupBy.STATUS], None, frozenset())
