"""Exceptions: list, detail, ingestion and the timeline-driven changes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeAlias

import strawberry
from strawberry import Info

from sentinai.context import Context
from sentinai.domain import validation
from sentinai.domain.actors import Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.repositories import exceptions as repo
from sentinai.repositories.pagination import page_size
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.resolvers.mutations import Input, run_batch, run_mutation
from sentinai.resolvers.permissions import CanRead, CanWrite, answered
from sentinai.schema.connections import Connection, connection
from sentinai.schema.enums import ExceptionOrder, IngestOutcome
from sentinai.schema.errors import MutationErrors, result_union
from sentinai.schema.exceptions import (
    AdvancePlaybookStepInput,
    AssignExceptionInput,
    AttachPlaybookInput,
    ExceptionEventRecorded,
    ExceptionEventsRecorded,
    ExceptionEventType,
    ExceptionFilter,
    ExceptionType,
    IngestExceptionInput,
    IngestExceptionResult,
    IngestExceptionsInput,
    IngestExceptionsSuccess,
    IngestExceptionSuccess,
    RecordExceptionEventInput,
    RecordExceptionEventResult,
    RecordExceptionEventsInput,
    TransitionExceptionInput,
)
from sentinai.services import exceptions as service
from sentinai.services import workflow

IngestExceptionsResult: TypeAlias = Annotated[
    IngestExceptionsSuccess | MutationErrors, result_union("IngestExceptionsResult")
]
RecordExceptionEventsResult: TypeAlias = Annotated[
    ExceptionEventsRecorded | MutationErrors, result_union("RecordExceptionEventsResult")
]
ExceptionChangeResult: TypeAlias = Annotated[
    ExceptionEventRecorded | MutationErrors, result_union("ExceptionChangeResult")
]


def repository_filter(given: ExceptionFilter | None, now: datetime) -> repo.ExceptionFilter:
    if given is None:
        return repo.ExceptionFilter()
    return repo.ExceptionFilter(
        domain=given.domain,
        type=given.type,
        statuses=given.status,
        severities=given.severity,
        source_system=given.source_system,
        entity=given.entity,
        owner=given.owner,
        created_from=validation.aware("filter.createdFrom", given.created_from),
        created_to=validation.aware("filter.createdTo", given.created_to),
        sla_states=given.sla_state,
        now=now,
    )


def exception_list(
    now: datetime,
    filter: ExceptionFilter | None = None,
    order_by: ExceptionOrder | None = ExceptionOrder.NEWEST,
    first: int | None = 20,
    after: str | None = None,
) -> repo.ExceptionPage:
    """The page `exceptions` asks for: one reading of its arguments, for both read paths."""
    order = (order_by or ExceptionOrder.NEWEST).value  # null means the default, as Relay clients send it
    return repo.ExceptionPage(repository_filter(filter, now), order, page_size(first), after)


def _new_exception(input: IngestExceptionInput) -> repo.NewException:
    return repo.NewException(
        exception_id=input.exception_id,
        domain=input.domain,
        type=input.type,
        severity=input.severity,
        source_system=input.source_system,
        entity=input.entity,
        amount=input.amount,
        sla_deadline=input.sla_deadline,
        summary=input.summary,
        attributes=input.attributes,
    )


def _ingested(result: service.Ingested) -> IngestExceptionSuccess:
    return IngestExceptionSuccess(
        exception=ExceptionType.from_row(result.exception),
        outcome=IngestOutcome(result.outcome.value),
        changed_fields=list(result.changed_fields),
    )


def _envelope(input: RecordExceptionEventInput, actor: Actor) -> EventEnvelope:
    change = input.state_change
    return EventEnvelope(
        input.event_id,
        input.exception_id,
        input.event_type,
        actor.actor_type,
        actor.id,
        input.payload if input.payload is not None else {},
        StateChange(change.status, change.severity, change.owner, change.playbook_id, change.current_step)
        if change
        else StateChange(),
    )


def _recorded(result: service.RecordedEvent) -> ExceptionEventRecorded:
    return ExceptionEventRecorded(
        event=ExceptionEventType.from_row(result.event),
        exception=ExceptionType.from_row(result.exception),
        replayed=result.replayed,
    )


def _locking(items: Sequence[Any]) -> Callable[[UnitOfWork], Awaitable[None]]:
    """A batch takes its exceptions' row locks first, in one statement and in id order, so
    overlapping batches queue instead of deadlocking."""
    return lambda uow: uow.exceptions.lock_many([item.exception_id for item in items])


async def _timeline_change(
    info: Info[Context, None], event_id: uuid.UUID | None, change: Callable[..., Awaitable[service.RecordedEvent]]
) -> ExceptionChangeResult:
    """A workflow change, recorded as a timeline event. Its id is fixed before the first attempt,
    so a retry after a lost connection replays the same event instead of adding another."""
    actor, event_id = info.context.principal.actor, event_id or uuid.uuid4()
    return await run_mutation(info, lambda uow: change(uow, actor, event_id), _recorded, idempotent=True)


async def exception_connection(info: Info[Context, None], page: repo.ExceptionPage) -> Connection[ExceptionType]:
    uow = await info.context.reader()
    rows = await uow.exceptions.list(page.where, page.order, page.first, page.after)
    info.context.loaders.prime_exceptions(rows.items)
    return connection(rows, ExceptionType.from_row, lambda: uow.exceptions.count(page.where), page.after)


@strawberry.type
class ExceptionQueries:
    @strawberry.field(permission_classes=[CanRead], description="Your tenant's exceptions, filtered and ordered.")
    async def exceptions(
        self,
        info: Info[Context, None],
        filter: Annotated[ExceptionFilter | None, strawberry.argument(description="Conditions to match.")] = None,
        order_by: Annotated[
            ExceptionOrder | None, strawberry.argument(description="Ordering (default NEWEST; null means the default).")
        ] = ExceptionOrder.NEWEST,
        first: Annotated[int | None, strawberry.argument(description="Page size, at most 100 (default 20).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="Cursor to continue after.")] = None,
    ) -> Connection[ExceptionType] | None:
        return await exception_connection(info, exception_list(info.context.now, filter, order_by, first, after))

    @strawberry.field(permission_classes=[CanRead], description="One exception by its id, or null.")
    async def exception(
        self,
        info: Info[Context, None],
        exception_id: Annotated[str, strawberry.argument(description="The tenant's exception id.")],
    ) -> ExceptionType | None:
        row = await info.context.loaders.exception.load(exception_id)
        return ExceptionType.from_row(row) if row else None


@strawberry.type
class ExceptionMutations:
    @strawberry.mutation(
        permission_classes=[answered(CanWrite)],
        description="Create an exception, or update what its source owns. Idempotent on exceptionId.",
    )
    async def ingest_exception(
        self, info: Info[Context, None], input: Input[IngestExceptionInput]
    ) -> IngestExceptionResult:
        new, actor = _new_exception(input), info.context.principal.actor
        return await run_mutation(
            info, lambda uow: service.ingest_exception(uow, new, actor), _ingested, idempotent=True
        )

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)],
        description="Append an event and apply the state change it carries, atomically. "
        "A replay of the same eventId changes nothing and returns the original event.",
    )
    async def record_exception_event(
        self, info: Info[Context, None], input: Input[RecordExceptionEventInput]
    ) -> RecordExceptionEventResult:
        envelope = _envelope(input, info.context.principal.actor)
        return await run_mutation(
            info, lambda uow: service.record_client_event(uow, envelope), _recorded, idempotent=True
        )

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)],
        description="`ingestException` for up to 100 exceptions in one transaction: one result per item, in "
        "input order. Each item is idempotent and all-or-nothing on its own; a failed item writes nothing "
        "and the others are kept.",
    )
    async def ingest_exceptions(
        self, info: Info[Context, None], input: Input[IngestExceptionsInput]
    ) -> IngestExceptionsResult:
        actor = info.context.principal.actor
        results = await run_batch(
            info,
            [_new_exception(item) for item in input.items],
            lambda uow, news: service.ingest_exceptions(uow, news, actor),
            _ingested,
            prepare=_locking(input.items),
        )
        return results if not isinstance(results, list) else IngestExceptionsSuccess(results=results)

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)],
        description="`recordExceptionEvent` for up to 100 events in one transaction: one result per item, in "
        "input order. Each item is idempotent on its eventId and all-or-nothing on its own; a failed item "
        "writes nothing and the others are kept.",
    )
    async def record_exception_events(
        self, info: Info[Context, None], input: Input[RecordExceptionEventsInput]
    ) -> RecordExceptionEventsResult:
        actor = info.context.principal.actor
        results = await run_batch(
            info,
            [_envelope(item, actor) for item in input.items],
            lambda uow, envelopes: service.record_events(uow, envelopes, from_clients=True),
            _recorded,
            prepare=_locking(input.items),
        )
        return results if not isinstance(results, list) else ExceptionEventsRecorded(results=results)

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)], description="Assign an owner (recorded on the timeline)."
    )
    async def assign_exception(
        self, info: Info[Context, None], input: Input[AssignExceptionInput]
    ) -> ExceptionChangeResult:
        return await _timeline_change(
            info,
            input.event_id,
            lambda uow, actor, event_id: workflow.assign_exception(
                uow, actor, input.exception_id, input.owner, event_id
            ),
        )

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)], description="Change the status along an allowed transition."
    )
    async def transition_exception(
        self, info: Info[Context, None], input: Input[TransitionExceptionInput]
    ) -> ExceptionChangeResult:
        return await _timeline_change(
            info,
            input.event_id,
            lambda uow, actor, event_id: workflow.transition_exception(
                uow, actor, input.exception_id, input.status, input.reason, event_id
            ),
        )

    @strawberry.mutation(permission_classes=[answered(CanWrite)], description="Start following a playbook at step 1.")
    async def attach_playbook(
        self, info: Info[Context, None], input: Input[AttachPlaybookInput]
    ) -> ExceptionChangeResult:
        return await _timeline_change(
            info,
            input.event_id,
            lambda uow, actor, event_id: workflow.attach_playbook(
                uow, actor, input.exception_id, input.playbook_id, event_id
            ),
        )

    @strawberry.mutation(
        permission_classes=[answered(CanWrite)], description="Move to the next step of the attached playbook."
    )
    async def advance_playbook_step(
        self, info: Info[Context, None], input: Input[AdvancePlaybookStepInput]
    ) -> ExceptionChangeResult:
        return await _timeline_change(
            info,
            input.event_id,
            lambda uow, actor, event_id: workflow.advance_playbook_step(uow, actor, input.exception_id, event_id),
        )
