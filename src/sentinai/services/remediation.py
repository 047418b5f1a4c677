"""Remediation plans: proposed by agents or people, decided by a different person."""

from __future__ import annotations

from sqlalchemy import func

from sentinai.db import models
from sentinai.domain import validation
from sentinai.domain.actors import Actor
from sentinai.errors import ForbiddenError, InvalidTransitionError, NotFoundError
from sentinai.repositories.remediation import NewPlan
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services.exceptions import append_system_event
from sentinai.services.idempotency import Replayed

PENDING, APPROVED, REJECTED = models.PlanStatus.PENDING, models.PlanStatus.APPROVED, models.PlanStatus.REJECTED
OUTCOMES = frozenset({models.PlanStatus.EXECUTED, models.PlanStatus.FAILED})


async def propose_plan(uow: UnitOfWork, actor: Actor, plan: NewPlan) -> models.RemediationPlan:
    plan = NewPlan(
        exception_id=plan.exception_id,
        root_cause=validation.text("rootCause", plan.root_cause, max_length=10_000) or "",
        confidence=validation.unit_interval("confidence", plan.confidence),
        action_type=validation.text("actionType", plan.action_type, max_length=100) or "",
        risk_level=plan.risk_level,
        requires_approval=plan.requires_approval,
        proposed_by=actor.id,
        action_params=validation.json_object("actionParams", plan.action_params),
    )
    # Locked like every timeline write, so the exception's events commit in the order they are numbered.
    if await uow.exceptions.get_for_update(plan.exception_id) is None:
        raise NotFoundError("Exception", plan.exception_id)
    row = await uow.remediation_plans.propose(plan)
    await append_system_event(uow, plan.exception_id, "RemediationPlanProposed", actor, {"planId": row.plan_id})
    return row


async def decide_plan(
    uow: UnitOfWork, actor: Actor, plan_id: int, approve: bool, note: str | None = None
) -> models.RemediationPlan | Replayed[models.RemediationPlan]:
    """Approve or reject a pending plan. Never by an agent, never by the plan's proposer.

    Deciding is idempotent by nature: the same caller taking the same decision again (a retry
    whose answer was lost) gets the original decision back as `Replayed`, its note included,
    and nothing is written. Any other change of a decided plan is an InvalidTransitionError."""
    if actor.is_agent:
        raise ForbiddenError("agents may propose remediation plans but never decide them")
    note = validation.text("note", note, max_length=2000, required=False)
    status = APPROVED if approve else REJECTED
    plan = await _locked(uow, plan_id)
    if plan.status == status and plan.decided_by == actor.id:
        return Replayed(plan)
    if plan.status != PENDING:
        raise InvalidTransitionError(plan.status.value.upper(), "DECIDED", "remediation plan")
    await uow.exceptions.get_for_update(plan.exception_id)
    if plan.proposed_by == actor.id:
        raise ForbiddenError("a remediation plan cannot be decided by the one who proposed it")
    plan = await uow.remediation_plans.change(
        plan_id, status=status, decided_by=actor.id, decided_at=func.statement_timestamp(), decision_note=note
    )
    await append_system_event(
        uow, plan.exception_id, "RemediationPlanDecided", actor, {"planId": plan_id, "decision": status.value.upper()}
    )
    await uow.audit.record(
        "remediation",
        f"plan.{status.value}",
        actor.id,
        {"planId": plan_id, "exceptionId": plan.exception_id, "note": note},
    )
    return plan


async def record_outcome(
    uow: UnitOfWork, actor: Actor, plan_id: int, outcome: models.PlanStatus, note: str | None = None
) -> models.RemediationPlan:
    if outcome not in OUTCOMES:
        raise InvalidTransitionError("APPROVED", outcome.value.upper(), "remediation plan")
    note = validation.text("note", note, max_length=10_000, required=False)
    plan = await _locked(uow, plan_id)
    await uow.exceptions.get_for_update(plan.exception_id)
    ready = plan.status == APPROVED or (plan.status == PENDING and not plan.requires_approval)
    if not ready:
        raise InvalidTransitionError(plan.status.value.upper(), outcome.value.upper(), "remediation plan")
    plan = await uow.remediation_plans.change(
        plan_id, status=outcome, outcome_note=note, executed_at=func.statement_timestamp()
    )
    await append_system_event(
        uow,
        plan.exception_id,
        "RemediationOutcomeRecorded",
        actor,
        {"planId": plan_id, "outcome": outcome.value.upper()},
    )
    return plan


async def _locked(uow: UnitOfWork, plan_id: int) -> models.RemediationPlan:
    plan = await uow.remediation_plans.get_for_update(plan_id)
    if plan is None:
        raise NotFoundError("RemediationPlan", plan_id)
    return plan
