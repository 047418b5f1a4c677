"""Remediation plans: a diagnosis, a proposed action and the decision on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from sentinai.schema.enums import RemediationOutcome, RemediationPlanStatus, RiskLevel
from sentinai.schema.idempotency import idempotency_key_field, replayed_field
from sentinai.schema.nodes import LoadedNode


@strawberry.type(name="RemediationPlan", description="A proposed fix for an exception and its approval trail.")
class RemediationPlanType(LoadedNode):
    kind: ClassVar[str] = "plan"
    key: relay.NodeID[str]
    plan_id: int = strawberry.field(description="Numeric id.")
    exception_id: str = strawberry.field(description="The exception it remedies.")
    root_cause: str = strawberry.field(description="The diagnosed root cause.")
    confidence: float = strawberry.field(description="Confidence in the diagnosis, 0 to 1.")
    action_type: str = strawberry.field(description="The action to take.")
    action_params: JSON = strawberry.field(description="Parameters of the action.")
    risk_level: RiskLevel = strawberry.field(description="Risk of taking the action.")
    requires_approval: bool = strawberry.field(description="Whether a person must approve before execution.")
    status: RemediationPlanStatus = strawberry.field(description="Where the plan stands.")
    proposed_by: str = strawberry.field(description="Who proposed it.")
    decided_by: str | None = strawberry.field(description="Who approved or rejected it (never the proposer).")
    decided_at: datetime | None = strawberry.field(description="When it was decided.")
    decision_note: str | None = strawberry.field(description="Why it was approved or rejected.")
    outcome_note: str | None = strawberry.field(description="What happened when it was executed.")
    executed_at: datetime | None = strawberry.field(description="When its outcome was recorded.")
    created_at: datetime = strawberry.field(description="When it was proposed.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    _row: strawberry.Private[Any]


@strawberry.input(name="ProposeRemediationPlanInput", description="A diagnosis and the action proposed to fix it.")
class ProposeRemediationPlanInput:
    exception_id: str = strawberry.field(description="The exception.")
    root_cause: str = strawberry.field(description="The diagnosed root cause.")
    confidence: float = strawberry.field(description="0 to 1.")
    action_type: str = strawberry.field(description="The action to take.")
    risk_level: RiskLevel = strawberry.field(description="Risk of the action.")
    requires_approval: bool = strawberry.field(default=True, description="Whether a person must approve it first.")
    action_params: JSON | None = strawberry.field(default=None, description="Parameters (JSON object).")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="DecideRemediationPlanInput", description="Approve or reject a pending plan.")
class DecideRemediationPlanInput:
    plan_id: int = strawberry.field(description="The plan.")
    note: str | None = strawberry.field(default=None, description="Why.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="RecordRemediationOutcomeInput", description="How executing a plan went.")
class RecordRemediationOutcomeInput:
    plan_id: int = strawberry.field(description="The plan (approved, or pending without approval needed).")
    outcome: RemediationOutcome = strawberry.field(description="EXECUTED or FAILED.")
    note: str | None = strawberry.field(default=None, description="What happened.")
    idempotency_key: str | None = idempotency_key_field()


@strawberry.type(name="RemediationPlanSuccess", description="The plan after the change.")
class RemediationPlanSuccess:
    plan: RemediationPlanType = strawberry.field(description="The stored plan.")
    replayed: bool = replayed_field()
