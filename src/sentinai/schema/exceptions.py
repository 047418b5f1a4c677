"""The Exception type, its timeline, and the inputs that filter and change exceptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeAlias

import strawberry
from strawberry import Info, relay
from strawberry.scalars import JSON

from sentinai.context import Context
from sentinai.domain.similarity import MAX_SIMILAR
from sentinai.domain.sla import at_risk_window, sla_state
from sentinai.errors import ValidationError
from sentinai.loaders import EventsKey
from sentinai.repositories.events import EventFilter, EventPage
from sentinai.repositories.exceptions import ExceptionFilter as RepositoryFilter
from sentinai.repositories.exceptions import ExceptionPage
from sentinai.repositories.pagination import page_size
from sentinai.schema.connections import Connection, connection
from sentinai.schema.direct_inputs import built_directly
from sentinai.schema.enums import (
    ActorType,
    ExceptionStatus,
    IngestOutcome,
    Severity,
    SlaSource,
    SlaState,
    TimelineOrder,
)
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.insights import SlaType
from sentinai.schema.nodes import LoadedNode

if TYPE_CHECKING:
    from sentinai.schema.insights import SimilarCase
    from sentinai.schema.packs import PolicyPackType
    from sentinai.schema.playbooks import PlaybookStepType, PlaybookType
    from sentinai.schema.remediation import RemediationPlanType

PlaybookRef = Annotated["PlaybookType", strawberry.lazy("sentinai.schema.playbooks")]
StepRef = Annotated["PlaybookStepType", strawberry.lazy("sentinai.schema.playbooks")]
PlanRef = Annotated["RemediationPlanType", strawberry.lazy("sentinai.schema.remediation")]
SimilarCaseRef = Annotated["SimilarCase", strawberry.lazy("sentinai.schema.insights")]
PolicyPackRef = Annotated["PolicyPackType", strawberry.lazy("sentinai.schema.packs")]


@strawberry.type(name="ExceptionEvent", description="One step in an exception's append-only timeline.")
class ExceptionEventType(LoadedNode):
    kind: ClassVar[str] = "event"
    key: relay.NodeID[str]
    event_id: uuid.UUID = strawberry.field(description="The id the writer chose; it makes the write idempotent.")
    exception_id: str = strawberry.field(description="The exception this event belongs to.")
    event_type: str = strawberry.field(description="E.g. ExceptionCreated, TriageCompleted, CopilotAnswerGiven.")
    actor_type: ActorType = strawberry.field(description="Who acted.")
    actor_id: str | None = strawberry.field(description="Which agent or person acted (from their credential).")
    payload: JSON = strawberry.field(description="Event details; the shape depends on `eventType`.")
    state_change: JSON = strawberry.field(
        description="What the event changed on its exception (status, severity, owner, playbookId, currentStep)."
    )
    created_at: datetime = strawberry.field(description="When the event was recorded.")
    _row: strawberry.Private[Any]


@strawberry.type(name="Exception", description="An operational exception: its current state, timeline and remediation.")
class ExceptionType(LoadedNode):
    kind: ClassVar[str] = "exception"
    key: relay.NodeID[str]
    exception_id: str = strawberry.field(description="The tenant's id for the exception (unique within the tenant).")
    domain: str = strawberry.field(description="Business domain, e.g. Finance or Healthcare.")
    type: str = strawberry.field(description="Kind of exception within the domain, e.g. SettlementFailure.")
    severity: Severity = strawberry.field(description="Current severity.")
    status: ExceptionStatus = strawberry.field(description="Current lifecycle status.")
    source_system: str = strawberry.field(description="System that raised it, e.g. Murex or ClaimsApp.")
    entity: str = strawberry.field(description="The business entity concerned: counterparty, patient, account…")
    amount: Decimal | None = strawberry.field(description="Monetary amount at stake, if any.")
    sla_deadline: datetime | None = strawberry.field(
        description="When it must be resolved by: as its source sent it, else its creation time plus the hours "
        "of its severity in the packs in force (recomputed when its severity changes)."
    )
    sla_source: SlaSource | None = strawberry.field(description="Who decided `slaDeadline` (null without one).")
    sla_pack_version: int | None = strawberry.field(
        description="The version of the pack (`slaSource`) whose hours gave a derived `slaDeadline`."
    )
    owner: str | None = strawberry.field(description="Assigned person or agent.")
    current_step_order: int | None = strawberry.field(description="Order number of the current playbook step.")
    summary: str | None = strawberry.field(description="One-paragraph description.")
    attributes: JSON = strawberry.field(description="The normalised source payload.")
    enriched_context: JSON = strawberry.field(
        description="Context added by agents during analysis (ContextEnriched events, merged key by key)."
    )
    rca_hypothesis: str | None = strawberry.field(
        description="Current root-cause hypothesis (the latest RootCauseHypothesized event's)."
    )
    resolved_at: datetime | None = strawberry.field(description="When it was resolved (null unless RESOLVED).")
    domain_pack_version: int | None = strawberry.field(description="Domain pack version in force at ingestion.")
    policy_pack_version: int | None = strawberry.field(description="Tenant policy pack version in force at ingestion.")
    created_at: datetime = strawberry.field(description="When it was first ingested.")
    updated_at: datetime = strawberry.field(description="When its state last changed.")
    _row: strawberry.Private[Any]

    @strawberry.field(description="The timeline (oldest first unless `order` says otherwise), optionally filtered.")
    async def events(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
        event_types: Annotated[list[str] | None, strawberry.argument(description="Only these event types.")] = None,
        actor_type: Annotated[
            ActorType | None, strawberry.argument(description="Only events by this kind of actor.")
        ] = None,
        order: Annotated[
            TimelineOrder | None,
            strawberry.argument(description="Oldest or newest first (default CHRONOLOGICAL; null means the default)."),
        ] = TimelineOrder.CHRONOLOGICAL,
    ) -> Connection[ExceptionEventType]:
        page = timeline_page(first, after, event_types, actor_type, order)
        rows = await info.context.loaders.events.load(EventsKey(self.exception_id, page))
        count = lambda: info.context.loaders.event_count.load((self.exception_id, page.where))  # noqa: E731
        return connection(rows, ExceptionEventType.from_row, count, after)

    @strawberry.field(description="The playbook being followed, if one is attached.")
    async def current_playbook(self, info: Info[Context, None]) -> PlaybookRef | None:
        from sentinai.schema.playbooks import PlaybookType

        row = await info.context.loaders.one("exception", "current_playbook", self._row)
        return PlaybookType.from_row(row) if row else None

    @strawberry.field(description="The step of the current playbook the exception is on.")
    async def current_step(self, info: Info[Context, None]) -> StepRef | None:
        from sentinai.schema.playbooks import PlaybookStepType

        row = await info.context.loaders.one("exception", "current_step", self._row)
        return PlaybookStepType.from_row(row) if row else None

    @strawberry.field(description="SLA state now, against the tenant's at-risk window.")
    async def sla(self, info: Info[Context, None]) -> SlaType:
        policy = await info.context.loaders.latest_policy_pack.load("latest")
        window = at_risk_window(policy.pack_json if policy else None)
        return SlaType.from_row(sla_state(self.sla_deadline, self.resolved_at, info.context.now, window))

    @strawberry.field(description="Your tenant's most similar other exceptions, best first, with the reasons.")
    async def similar(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="How many, at most 20 (default 5; null means the default).")
        ] = 5,
    ) -> list[SimilarCaseRef]:
        from sentinai.schema.insights import SimilarCase

        rows = await info.context.loaders.similar.load((self.exception_id, similar_count(first)))
        return [SimilarCase.from_row(row) for row in rows]

    @strawberry.field(description="Earlier exceptions of the same entity, newest first.")
    async def entity_history(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 10).")] = 10,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[ExceptionType]:
        page = entity_history_page(first, after)
        rows = await info.context.loaders.entity_history.load((self.exception_id, page))
        count = lambda: info.context.loaders.entity_history_count.load(self.exception_id)  # noqa: E731
        return connection(rows, ExceptionType.from_row, count, after)

    @strawberry.field(description="The tenant policy pack version in force when this exception was ingested.")
    async def policy_pack(self, info: Info[Context, None]) -> PolicyPackRef | None:
        from sentinai.schema.packs import PolicyPackType

        row = await info.context.loaders.one("exception", "policy_pack", self._row)
        return PolicyPackType.from_row(row) if row else None

    @strawberry.field(description="Remediation plans proposed for this exception, newest first.")
    async def remediation_plans(self, info: Info[Context, None]) -> list[PlanRef]:
        from sentinai.schema.remediation import RemediationPlanType

        rows = await info.context.loaders.many("exception", "remediation_plans", self._row)
        return [RemediationPlanType.from_row(row) for row in rows]


def timeline_page(
    first: int | None, after: str | None, event_types: list[str] | None, actor_type: ActorType | None, order: Any
) -> EventPage:
    """The page `Exception.events` asks for: one reading of its arguments for both read paths."""
    where = EventFilter(tuple(event_types) if event_types else None, actor_type)
    return EventPage(page_size(first), after, where, order == TimelineOrder.NEWEST_FIRST)


def entity_history_page(first: int | None, after: str | None) -> ExceptionPage:
    """The page `Exception.entityHistory` asks for, for both read paths."""
    return ExceptionPage(RepositoryFilter(), "newest", page_size(first), after)


def similar_count(first: int | None) -> int:
    """How many cases `Exception.similar` asks for, for both read paths."""
    count = 5 if first is None else first
    if not 0 <= count <= MAX_SIMILAR:
        raise ValidationError("first", f"must be between 0 and {MAX_SIMILAR}")
    return count


@strawberry.input(name="ExceptionFilter", description="All given conditions must hold.")
class ExceptionFilter:
    domain: str | None = strawberry.field(default=None, description="Exact domain.")
    type: str | None = strawberry.field(default=None, description="Exact exception type.")
    status: list[ExceptionStatus] | None = strawberry.field(default=None, description="Any of these statuses.")
    severity: list[Severity] | None = strawberry.field(default=None, description="Any of these severities.")
    source_system: str | None = strawberry.field(default=None, description="Exact source system.")
    entity: str | None = strawberry.field(default=None, description="Exact entity.")
    owner: str | None = strawberry.field(default=None, description="Exact owner.")
    created_from: datetime | None = strawberry.field(default=None, description="Created at or after (inclusive).")
    created_to: datetime | None = strawberry.field(default=None, description="Created before (exclusive).")
    sla_state: list[SlaState] | None = strawberry.field(default=None, description="Any of these SLA states, now.")


@built_directly
@strawberry.input(name="IngestExceptionInput", description="An exception as a source system reports it.")
class IngestExceptionInput:
    exception_id: str = strawberry.field(description="The source's id; re-sending it is idempotent.")
    domain: str = strawberry.field(description="Business domain.")
    type: str = strawberry.field(description="Exception type.")
    severity: Severity = strawberry.field(description="Initial severity (later owned by triage).")
    source_system: str = strawberry.field(description="Reporting system.")
    entity: str = strawberry.field(description="Business entity concerned.")
    amount: Decimal | None = strawberry.field(default=None, description="Amount at stake (2 decimals).")
    sla_deadline: datetime | None = strawberry.field(default=None, description="Deadline, with a time zone.")
    summary: str | None = strawberry.field(default=None, description="Description.")
    attributes: JSON | None = strawberry.field(default=None, description="Normalised source payload (JSON object).")


@built_directly
@strawberry.input(name="StateChangeInput", description="State an event changes on its exception; omitted fields stay.")
class StateChangeInput:
    status: ExceptionStatus | None = strawberry.field(
        default=None, description="New status (must be an allowed transition)."
    )
    severity: Severity | None = strawberry.field(default=None, description="New severity.")
    owner: str | None = strawberry.field(default=None, description="New owner.")
    playbook_id: int | None = strawberry.field(default=None, description="Attach this playbook (starts at step 1).")
    current_step: int | None = strawberry.field(default=None, description="Move to this step of the playbook.")


@built_directly
@strawberry.input(name="RecordExceptionEventInput", description="An event an agent or person records on an exception.")
class RecordExceptionEventInput:
    event_id: uuid.UUID = strawberry.field(description="Chosen by the client; a replay with the same id is a no-op.")
    exception_id: str = strawberry.field(description="The exception it belongs to.")
    event_type: str = strawberry.field(description="One of the event types listed in docs/events.md.")
    payload: JSON | None = strawberry.field(
        default=None, description="Event details, checked against the type's schema."
    )
    state_change: StateChangeInput | None = strawberry.field(default=None, description="State the event changes.")


@strawberry.input(name="AssignExceptionInput", description="Give an exception an owner.")
class AssignExceptionInput:
    exception_id: str = strawberry.field(description="The exception.")
    owner: str = strawberry.field(description="Person or agent to own it.")
    event_id: uuid.UUID | None = strawberry.field(default=None, description="Optional id making the call idempotent.")


@strawberry.input(name="TransitionExceptionInput", description="Move an exception to another status.")
class TransitionExceptionInput:
    exception_id: str = strawberry.field(description="The exception.")
    status: ExceptionStatus = strawberry.field(description="Target status.")
    reason: str | None = strawberry.field(default=None, description="Why (kept on the timeline).")
    event_id: uuid.UUID | None = strawberry.field(default=None, description="Optional id making the call idempotent.")


@strawberry.input(name="AttachPlaybookInput", description="Start following a playbook.")
class AttachPlaybookInput:
    exception_id: str = strawberry.field(description="The exception.")
    playbook_id: int = strawberry.field(description="The playbook version to follow.")
    event_id: uuid.UUID | None = strawberry.field(default=None, description="Optional id making the call idempotent.")


@strawberry.input(name="AdvancePlaybookStepInput", description="Move to the next step of the attached playbook.")
class AdvancePlaybookStepInput:
    exception_id: str = strawberry.field(description="The exception.")
    event_id: uuid.UUID | None = strawberry.field(default=None, description="Optional id making the call idempotent.")


@strawberry.type(name="IngestExceptionSuccess", description="The exception as stored.")
class IngestExceptionSuccess:
    exception: ExceptionType = strawberry.field(description="The stored exception.")
    outcome: IngestOutcome = strawberry.field(description="Whether it was created, updated or unchanged.")
    changed_fields: list[str] = strawberry.field(description="Fields an update changed (empty otherwise).")


@strawberry.type(name="ExceptionEventRecorded", description="The event and the exception after it.")
class ExceptionEventRecorded:
    event: ExceptionEventType = strawberry.field(description="The stored event (the original one on a replay).")
    exception: ExceptionType = strawberry.field(description="The exception's current state.")
    replayed: bool = strawberry.field(description="True when this event id had already been recorded: nothing changed.")


IngestExceptionResult: TypeAlias = Annotated[
    IngestExceptionSuccess | MutationErrors, result_union("IngestExceptionResult")
]
RecordExceptionEventResult: TypeAlias = Annotated[
    ExceptionEventRecorded | MutationErrors, result_union("RecordExceptionEventResult")
]

MAX_BATCH_ITEMS = 100


@strawberry.input(name="IngestExceptionsInput", description="Exceptions to ingest in one request.")
class IngestExceptionsInput:
    items: list[IngestExceptionInput] = strawberry.field(
        description=f"At most {MAX_BATCH_ITEMS}; each is handled exactly as `ingestException` would."
    )


@strawberry.input(name="RecordExceptionEventsInput", description="Events to record in one request.")
class RecordExceptionEventsInput:
    items: list[RecordExceptionEventInput] = strawberry.field(
        description=f"At most {MAX_BATCH_ITEMS}; each is handled exactly as `recordExceptionEvent` would."
    )


@strawberry.type(name="IngestExceptionsSuccess", description="What became of each item, in input order.")
class IngestExceptionsSuccess:
    results: list[IngestExceptionResult] = strawberry.field(
        description="One per item: what `ingestException` would have returned for it."
    )


@strawberry.type(name="ExceptionEventsRecorded", description="What became of each item, in input order.")
class ExceptionEventsRecorded:
    results: list[RecordExceptionEventResult] = strawberry.field(
        description="One per item: what `recordExceptionEvent` would have returned for it."
    )
