"""Bulk synthetic data for benchmarks: tenants × exceptions × events, loaded with COPY.

Runs as the schema owner (binary COPY through asyncpg, never the ORM): the rows are
generated here, so no client input is involved. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

DOMAINS = {
    "Finance": ("SettlementFailure", "CashBreak", "TradeMismatch"),
    "Healthcare": ("ClaimDenied", "EligibilityMismatch", "CodingError"),
    "ITOps": ("Outage", "LatencySpike", "CertificateExpiry"),
}
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "analyzing", "escalated", "resolved")
SOURCES = ("Murex", "Calypso", "ClaimsApp", "Epic", "Datadog", "PagerDuty")
# Synthetic timelines use agent event types with payloads valid for their schemas (docs/events.md).
EVENT_PAYLOADS = (
    (
        "TriageCompleted",
        lambda rng: {
            "severity": rng.choice(("LOW", "MEDIUM", "HIGH", "CRITICAL")),
            "confidence": round(rng.random(), 3),
        },
    ),
    ("PolicyEvaluated", lambda rng: {"decision": rng.choice(("ALLOW", "REQUIRES_REVIEW"))}),
    ("ResolutionSuggested", lambda rng: {"summary": "re-instruct", "confidence": round(rng.random(), 3)}),
    ("CommentAdded", lambda rng: {"text": "synthetic note"}),
    ("LLMDecisionProposed", lambda rng: {"decision": "escalate", "confidence": round(rng.random(), 3)}),
)
ACTOR_TYPES = ("agent", "user", "system")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

EXCEPTION_COLUMNS = (
    "tenant_id",
    "exception_id",
    "domain",
    "type",
    "severity",
    "status",
    "source_system",
    "entity",
    "amount",
    "sla_deadline",
    "owner",
    "current_playbook_id",
    "current_step",
    "summary",
    "attributes",
    "resolved_at",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "tenant_id",
    "event_id",
    "exception_id",
    "event_type",
    "actor_type",
    "actor_id",
    "payload",
    "created_at",
)


@dataclass(frozen=True)
class SeedPlan:
    tenants: int
    exceptions_per_tenant: int
    events_per_exception: int
    playbooks_per_tenant: int = 10
    steps_per_playbook: int = 5
    prefix: str = "seed"
    seed: int = 42


def _progress(label: str) -> Callable[[int, int], None]:
    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.perf_counter() - started, 1e-6)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:,.0f}/s)")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


async def seed_bulk(owner_dsn: str, plan: SeedPlan) -> dict[str, int]:
    """Seed the plan's tenants, skipping those that exist: the same plan run twice seeds once
    (a tenant and its data are created in one transaction). Counts only what it created."""
    connection = await asyncpg.connect(owner_dsn)
    report = _progress("exceptions")
    total = plan.tenants * plan.exceptions_per_tenant
    counts = {"tenants": 0, "exceptions": 0, "events": 0}
    try:
        for index in range(plan.tenants):
            tenant_id = f"{plan.prefix}-{index + 1:03d}"
            if await connection.fetchval("SELECT 1 FROM tenant WHERE tenant_id = $1", tenant_id):
                continue
            async with connection.transaction():
                await _seed_tenant(connection, tenant_id, plan, random.Random(plan.seed * 1_000_003 + index))
            counts["tenants"] += 1
            counts["exceptions"] += plan.exceptions_per_tenant
            counts["events"] += plan.exceptions_per_tenant * plan.events_per_exception
            report(counts["exceptions"], total)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return counts


async def _seed_tenant(connection: asyncpg.Connection, tenant_id: str, plan: SeedPlan, rng: random.Random) -> None:
    await connection.execute(
        "INSERT INTO tenant (tenant_id, name) VALUES ($1, $2)", tenant_id, f"Synthetic tenant {tenant_id}"
    )
    playbook_ids = await _playbooks(connection, tenant_id, plan, rng)
    exceptions, events = [], []
    span = timedelta(days=180) / max(plan.exceptions_per_tenant, 1)
    for number in range(1, plan.exceptions_per_tenant + 1):
        created = EPOCH + span * number
        exception, timeline = _exception(tenant_id, number, created, plan, rng, playbook_ids)
        exceptions.append(exception)
        events.extend(timeline)
    await connection.copy_records_to_table("exception", records=exceptions, columns=EXCEPTION_COLUMNS)
    await connection.copy_records_to_table("exception_event", records=events, columns=EVENT_COLUMNS)


async def _playbooks(connection: asyncpg.Connection, tenant_id: str, plan: SeedPlan, rng: random.Random) -> list[int]:
    ids = []
    for number in range(1, plan.playbooks_per_tenant + 1):
        playbook_id = await connection.fetchval(
            "INSERT INTO playbook (tenant_id, name, version, conditions) VALUES ($1, $2, 1, $3::jsonb) "
            "RETURNING playbook_id",
            tenant_id,
            f"playbook-{number:02d}",
            json.dumps({"domain": rng.choice(list(DOMAINS))}),
        )
        await connection.copy_records_to_table(
            "playbook_step",
            columns=("tenant_id", "playbook_id", "step_order", "name", "action_type", "params"),
            records=[
                (
                    tenant_id,
                    playbook_id,
                    order,
                    f"step {order}",
                    rng.choice(("notify", "call_tool", "escalate")),
                    json.dumps({"retries": rng.randint(0, 3)}),
                )
                for order in range(1, plan.steps_per_playbook + 1)
            ],
        )
        ids.append(playbook_id)
    return ids


def _exception(tenant_id, number, created, plan, rng, playbook_ids):
    domain = rng.choice(list(DOMAINS))
    status = rng.choices(STATUSES, (30, 15, 10, 45))[0]
    playbook = rng.choice(playbook_ids) if playbook_ids and rng.random() < 0.85 else None
    exception_id = f"EXC-{number:07d}"
    events, moment = [], created
    for _ in range(plan.events_per_exception):
        moment = moment + timedelta(seconds=rng.randint(5, 3600))
        event_type, payload = rng.choice(EVENT_PAYLOADS)
        event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        actor = (rng.choice(ACTOR_TYPES), f"agent-{rng.randint(1, 9)}")
        events.append((tenant_id, event_id, exception_id, event_type, *actor, json.dumps(payload(rng)), moment))
    row = (
        tenant_id,
        exception_id,
        domain,
        rng.choice(DOMAINS[domain]),
        rng.choices(SEVERITIES, (40, 35, 18, 7))[0],
        status,
        rng.choice(SOURCES),
        f"ENT-{rng.randint(1, 5000):05d}",
        Decimal(rng.randint(100, 5_000_000)) / 100,
        created + timedelta(hours=rng.choice((4, 8, 24, 72))),
        f"user-{rng.randint(1, 50):02d}" if rng.random() < 0.6 else None,
        playbook,
        rng.randint(1, plan.steps_per_playbook) if playbook else None,
        f"Synthetic {domain} exception {number}",
        json.dumps({"reference": f"R{number}"}),
        moment if status == "resolved" else None,
        created,
        moment,
    )
    return row, events
