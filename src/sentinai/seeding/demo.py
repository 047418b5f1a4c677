"""Demo data: tenants in different domains with realistic exceptions, timelines,
playbooks, tools, packs and remediation plans — written through the services, so the
demo exercises the same rules as production."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sentinai.db import models
from sentinai.db.session import Scope
from sentinai.domain.actors import PLATFORM_ADMIN, Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.repositories.exceptions import NewException
from sentinai.repositories.playbooks import NewStep
from sentinai.repositories.remediation import NewPlan
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services import configuration, remediation
from sentinai.services.exceptions import ingest_exception, record_exception_event

S, ST = models.Severity, models.ExceptionStatus


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    name: str
    domain: str
    source_systems: tuple[str, ...]
    types: tuple[tuple[str, str], ...]  # (type, summary template)
    entities: tuple[str, ...]
    playbook: tuple[str, tuple[tuple[str, str], ...]]
    tool: tuple[str, models.ToolType, dict]
    prefix: str


TENANTS = (
    DemoTenant(
        "northbank",
        "Northbank Securities",
        "Finance",
        ("Murex", "Calypso", "SWIFT"),
        (
            ("SettlementFailure", "Trade {n} failed to settle: counterparty SSI mismatch"),
            ("CashBreak", "Nostro cash break of {amount} EUR on account {entity}"),
            ("TradeMismatch", "Trade {n} economics differ between front office and custodian"),
        ),
        ("CPTY-GOLDMAN", "CPTY-BARCLAYS", "CPTY-HSBC", "CPTY-DEUTSCHE", "CPTY-NOMURA"),
        (
            "Settlement break resolution",
            (
                ("Notify settlements desk", "notify"),
                ("Request SSI from counterparty", "call_tool"),
                ("Re-instruct settlement", "force_settle"),
                ("Escalate to operations lead", "escalate"),
            ),
        ),
        ("swift-gateway", models.ToolType.REST, {"url": "https://swift.northbank.example/api", "timeoutSeconds": 10}),
        "STL",
    ),
    DemoTenant(
        "stmarys",
        "St Mary's Hospital",
        "Healthcare",
        ("ClaimsApp", "Epic", "PayerPortal"),
        (
            ("ClaimDenied", "Claim {n} denied by payer: missing prior authorisation"),
            ("EligibilityMismatch", "Patient {entity} eligibility differs between Epic and payer"),
            ("CodingError", "Claim {n} rejected: CPT code incompatible with diagnosis"),
        ),
        ("PATIENT-1001", "PATIENT-1002", "PATIENT-1003", "PATIENT-1004", "PATIENT-1005"),
        (
            "Claim denial appeal",
            (
                ("Check prior authorisation", "call_tool"),
                ("Correct coding", "notify"),
                ("Resubmit claim", "call_tool"),
                ("Escalate to billing supervisor", "escalate"),
            ),
        ),
        ("payer-portal", models.ToolType.WEBHOOK, {"url": "https://payer.stmarys.example/hooks/claims"}),
        "CLM",
    ),
)

TIMELINE = (
    ("TriageCompleted", models.ActorType.AGENT, "triage-agent"),
    ("PolicyEvaluated", models.ActorType.AGENT, "policy-agent"),
    ("ResolutionSuggested", models.ActorType.AGENT, "resolution-agent"),
    ("CommentAdded", models.ActorType.USER, "ops-analyst"),
    ("FeedbackCaptured", models.ActorType.AGENT, "feedback-agent"),
)


async def demo_exists(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    async with UnitOfWork(session_factory, Scope.platform(), read_only=True) as uow:
        return await uow.tenants.get(TENANTS[0].tenant_id) is not None


async def seed_demo(session_factory: async_sessionmaker[AsyncSession], exceptions_per_tenant: int = 150) -> None:
    rng = random.Random(7)
    async with UnitOfWork(session_factory, Scope.platform()) as uow:
        for tenant in TENANTS:
            await configuration.create_tenant(uow, PLATFORM_ADMIN, tenant.tenant_id, tenant.name)
            await configuration.publish_domain_pack(
                uow,
                PLATFORM_ADMIN,
                tenant.domain,
                {
                    "domain": tenant.domain,
                    "exceptionTypes": [t for t, _ in tenant.types],
                    "slaHours": {"CRITICAL": 4, "HIGH": 24},
                },
            )
        if not await _has_global_email(uow):
            await configuration.register_tool(
                uow,
                PLATFORM_ADMIN,
                "email",
                models.ToolType.EMAIL,
                {"from": "sentinai@example.com"},
                {"smtpPassword": "demo"},
                "Send an e-mail",
                global_tool=True,
            )
        await uow.commit()
    for tenant in TENANTS:
        await _seed_tenant(session_factory, tenant, rng, exceptions_per_tenant)


async def _has_global_email(uow: UnitOfWork) -> bool:
    return any(tool.name == "email" for tool in await uow.tools.list_global())


async def _seed_tenant(
    factory: async_sessionmaker[AsyncSession], tenant: DemoTenant, rng: random.Random, count: int
) -> None:
    admin = Actor(f"demo-admin@{tenant.tenant_id}", models.ApiKeyRole.ADMIN, models.ActorType.USER)
    supervisor = Actor(f"supervisor@{tenant.tenant_id}", models.ApiKeyRole.OPERATOR, models.ActorType.USER)
    agent = Actor("resolution-agent", models.ApiKeyRole.AGENT, models.ActorType.AGENT)
    async with UnitOfWork(factory, Scope.tenant(tenant.tenant_id)) as uow:
        tool_name, tool_type, config = tenant.tool
        tool = await configuration.register_tool(uow, admin, tool_name, tool_type, config, {"apiToken": "demo-secret"})
        name, steps = tenant.playbook
        playbook = await configuration.create_playbook(
            uow,
            admin,
            name,
            [
                NewStep(step, action, {"channel": "ops"}, tool.tool_id if action == "call_tool" else None)
                for step, action in steps
            ],
            f"How {tenant.name} resolves its most common exceptions",
            {"domain": tenant.domain},
        )
        policy = {"autoApproveBelow": 1000, "sla": {"atRiskMinutes": 240}, "domains": [tenant.domain]}
        await configuration.publish_policy_pack(uow, admin, policy)
        now = datetime.now(UTC)
        for n in range(1, count + 1):
            await _seed_exception(uow, tenant, rng, n, now, playbook.playbook_id, len(steps), agent, supervisor)
        await uow.commit()


async def _seed_exception(uow, tenant, rng, n, now, playbook_id, step_count, agent, supervisor) -> None:
    exception_type, template = rng.choice(tenant.types)
    entity = rng.choice(tenant.entities)
    amount = Decimal(rng.randint(100, 2_000_000)) / 100
    new = NewException(
        exception_id=f"{tenant.prefix}-2026-{n:05d}",
        domain=tenant.domain,
        type=exception_type,
        severity=rng.choice(list(S)),
        source_system=rng.choice(tenant.source_systems),
        entity=entity,
        amount=amount,
        sla_deadline=_sent_deadline(n, now + timedelta(hours=rng.randint(-48, 96))),
        summary=template.format(n=n, amount=amount, entity=entity),
        attributes={"reference": f"REF-{rng.randint(10000, 99999)}", "desk": rng.choice(["EMEA", "APAC", "AMER"])},
    )
    await ingest_exception(uow, new, agent)
    for event_type, actor_type, actor_id in TIMELINE[: rng.randint(1, len(TIMELINE))]:
        change = _change_for(event_type, rng, playbook_id, step_count)
        await record_exception_event(
            uow,
            EventEnvelope(
                uuid.uuid4(), new.exception_id, event_type, actor_type, actor_id, _payload(event_type, rng), change
            ),
        )
    if n % 4 == 0:
        await _record_findings(uow, new)
    if n % 5 == 0:
        plan = await remediation.propose_plan(
            uow,
            agent,
            NewPlan(
                new.exception_id,
                f"{exception_type} caused by stale reference data",
                Decimal(rng.randint(50, 99)) / 100,
                "reinstruct",
                rng.choice(list(models.RiskLevel)),
                True,
                agent.id,
            ),
        )
        if n % 10 == 0:
            await remediation.decide_plan(uow, supervisor, plan.plan_id, approve=True, note="Looks right")


def _sent_deadline(n: int, deadline: datetime) -> datetime | None:
    """Every third source sends no deadline: its domain pack's `slaHours` decide (domain.deadlines)."""
    return None if n % 3 == 0 else deadline


async def _record_findings(uow: UnitOfWork, new: NewException) -> None:
    """What an analysis agent found: context for the exception and a root-cause hypothesis."""
    findings = (
        ("ContextEnriched", {"context": {"entityOpenExceptions": 2, "lastContact": "counterparty desk"}}),
        ("RootCauseHypothesized", {"hypothesis": f"{new.type} caused by stale reference data", "confidence": 0.7}),
    )
    for event_type, payload in findings:
        envelope = EventEnvelope(
            uuid.uuid4(), new.exception_id, event_type, models.ActorType.AGENT, "analysis-agent", payload
        )
        await record_exception_event(uow, envelope)


def _change_for(event_type: str, rng: random.Random, playbook_id: int, step_count: int) -> StateChange:
    if event_type == "TriageCompleted":
        return StateChange(status=ST.ANALYZING)
    if event_type == "ResolutionSuggested":
        return StateChange(playbook_id=playbook_id, current_step=rng.randint(1, step_count), owner="ops-analyst")
    if event_type == "FeedbackCaptured":
        return StateChange(status=ST.RESOLVED)
    return StateChange()


def _payload(event_type: str, rng: random.Random) -> dict[str, Any]:
    payloads: dict[str, dict[str, Any]] = {
        "TriageCompleted": {"severity": rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"]), "confidence": 0.87},
        "PolicyEvaluated": {"decision": "REQUIRES_REVIEW", "policyPackVersion": 1},
        "ResolutionSuggested": {"summary": "Re-instruct with corrected SSI", "confidence": 0.8},
        "CommentAdded": {"text": "Counterparty contacted, awaiting confirmation"},
        "FeedbackCaptured": {"outcome": "resolved", "rating": rng.randint(3, 5)},
    }
    return payloads[event_type]


async def demo_keys(session_factory: async_sessionmaker[AsyncSession], data_dir: Path) -> dict[str, str]:
    """Seed the demo once, and keep one key per demo tenant and role in the data directory.

    The keys file lives beside the embedded database (git-ignored), so a restart shows
    the same keys; a key that no longer works (say, the database was reset) is replaced.
    """
    if not await demo_exists(session_factory):
        await seed_demo(session_factory)
    keys_file = data_dir / "demo-keys.json"
    stored = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    keys: dict[str, str] = {}
    async with UnitOfWork(session_factory, Scope.authentication(), read_only=True) as auth:
        valid = {label: key for label, key in stored.items() if await auth.api_keys.find_owner(key)}
    async with UnitOfWork(session_factory, Scope.platform()) as uow:
        for tenant in TENANTS:
            for role in (models.ApiKeyRole.ADMIN, models.ApiKeyRole.OPERATOR, models.ApiKeyRole.VIEWER):
                label = f"{tenant.tenant_id} {role.value}"
                if label not in valid:
                    _, valid[label] = await configuration.create_api_key(
                        uow, PLATFORM_ADMIN, f"demo-{role.value}", role, platform_target=tenant.tenant_id
                    )
                keys[label] = valid[label]
        await uow.commit()
    data_dir.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(keys, indent=2))
    keys_file.chmod(0o600)
    return keys
