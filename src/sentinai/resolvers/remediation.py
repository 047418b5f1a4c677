"""Remediation plans: propose, decide, record the outcome."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.domain.enums import PlanStatus
from sentinai.repositories.remediation import NewPlan
from sentinai.resolvers.mutations import Input, run_mutation
from sentinai.resolvers.permissions import CanDecide, CanWrite, answered
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.remediation import (
    DecideRemediationPlanInput,
    ProposeRemediationPlanInput,
    RecordRemediationOutcomeInput,
    RemediationPlanSuccess,
    RemediationPlanType,
)
from sentinai.services import remediation

RemediationPlanResult: TypeAlias = Annotated[
    RemediationPlanSuccess | MutationErrors, result_union("RemediationPlanResult")
]


def _present(row) -> RemediationPlanSuccess:
    return RemediationPlanSuccess(plan=RemediationPlanType.from_row(row))


@strawberry.type
class RemediationMutations:
    @strawberry.mutation(
        permission_classes=[answered(CanWrite)], description="Propose a remediation plan for an exception."
    )
    async def propose_remediation_plan(
        self, info: Info[Context, None], input: Input[ProposeRemediationPlanInput]
    ) -> RemediationPlanResult:
        actor = info.context.principal.actor
        plan = NewPlan(
            exception_id=input.exception_id,
            root_cause=input.root_cause,
            confidence=input.confidence,
            action_type=input.action_type,
            risk_level=input.risk_level,
            requires_approval=input.requires_approval,
            proposed_by=actor.id,
            action_params=input.action_params,
        )
        return await run_mutation(
            info, lambda uow: remediation.propose_plan(uow, actor, plan), _present, keyed_by=input
        )

    @strawberry.mutation(
        permission_classes=[answered(CanDecide)],
        description="Approve a pending plan. Never by its proposer, never by an AGENT key.",
    )
    async def approve_remediation_plan(
        self, info: Info[Context, None], input: Input[DecideRemediationPlanInput]
    ) -> RemediationPlanResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: remediation.decide_plan(uow, actor, input.plan_id, True, input.note),
            _present,
            keyed_by=input,
        )

    @strawberry.mutation(
        permission_classes=[answered(CanDecide)],
        description="Reject a pending plan. Never by its proposer, never by an AGENT key.",
    )
    async def reject_remediation_plan(
        self, info: Info[Context, None], input: Input[DecideRemediationPlanInput]
    ) -> RemediationPlanResult:
        actor = info.context.principal.actor
        return await run_mutation(
            info,
            lambda uow: remediation.decide_plan(uow, actor, input.plan_id, False, input.note),
            _present,
            keyed_by=input,
        )

    @strawberry.mutation(permission_classes=[answered(CanWrite)], description="Record how executing a plan went.")
    async def record_remediation_outcome(
        self, info: Info[Context, None], input: Input[RecordRemediationOutcomeInput]
    ) -> RemediationPlanResult:
        actor = info.context.principal.actor
        outcome = input.outcome
        return await run_mutation(
            info,
            lambda uow: remediation.record_outcome(uow, actor, input.plan_id, PlanStatus(outcome.value), input.note),
            _present,
            keyed_by=input,
        )
