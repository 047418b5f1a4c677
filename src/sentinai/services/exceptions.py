"""Ingesting exceptions and the agents' persistence pattern (seed §6.1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinai.db import models
from sentinai.domain import packs, validation
from sentinai.domain.actors import Actor
from sentinai.domain.events import SYSTEM_EVENT_TYPES, EventEnvelope, StateChange
from sentinai.domain.lifecycle import check_transition
from sentinai.domain.validation import same_json
from sentinai.errors import ConflictError, NotFoundError, ValidationError
from sentinai.repositories.exceptions import IngestOutcome, NewException
from sentinai.repositories.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Ingested:
    exception: models.ExceptionRecord
    outcome: IngestOutcome
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedEvent:
    event: models.ExceptionEvent
    exception: models.ExceptionRecord
    replayed: bool


def validate_new_exception(new: NewException) -> NewException:
    return NewException(
        exception_id=validation.identifier("exceptionId", new.exception_id),
        domain=validation.text("domain", new.domain, max_length=100),
        type=validation.text("type", new.type, max_length=100),
        severity=new.severity,
        source_system=validation.text("sourceSystem", new.source_system, max_length=100),
        entity=validation.text("entity", new.entity, max_length=200),
        amount=validation.amount("amount", new.amount),
        sla_deadline=validation.aware("slaDeadline", new.sla_deadline),
        summary=validation.text("summary", new.summary, max_length=10_000, required=False),
        attributes=validation.json_object("attributes", new.attributes),
        status=new.status,
        owner=validation.text("owner", new.owner, required=False),
    )


async def ingest_exception(uow: UnitOfWork, new: NewException, actor: Actor) -> Ingested:
    """Create the exception, or update what its source owns; a replay changes nothing.

    Appends ExceptionCreated, or ExceptionUpdated naming the changed fields.
    """
    checked = validate_new_exception(new)
    await _check_kind(uow, checked)
    record, outcome, changed = await uow.exceptions.upsert_exception(checked)
    if outcome == IngestOutcome.CREATED:
        await append_system_event(
            uow,
            record.exception_id,
            "ExceptionCreated",
            actor,
            {"sourceSystem": record.source_system, "summary": record.summary},
        )
    if outcome == IngestOutcome.UPDATED:
        names = [_camel(name) for name in changed]
        await append_system_event(uow, record.exception_id, "ExceptionUpdated", actor, {"changedFields": names})
    return Ingested(record, outcome, tuple(_camel(name) for name in changed))


async def _check_kind(uow: UnitOfWork, new: NewException) -> None:
    """The domain and type against the packs in force. An exception already stored with the same
    domain and type was accepted under the packs of its day: its replays stay idempotent."""
    tenant_domains, domain_types = await uow.policy_packs.kinds_in_force(new.domain)
    try:
        packs.check_exception_kind(new.domain, new.type, tenant_domains, domain_types)
    except ValidationError:
        stored = await uow.exceptions.get(new.exception_id)
        if stored is None or (stored.domain, stored.type) != (new.domain, new.type):
            raise


async def record_exception_event(uow: UnitOfWork, envelope: EventEnvelope) -> RecordedEvent:
    """The agents' pattern, atomically: lock the exception, append the event if new,
    apply the state change it carries, queue the outbound event.

    A replay of the same event id changes nothing and returns the stored event; reusing
    an event id for different content is a conflict, never a silent overwrite.
    """
    envelope.validate()
    exception = await uow.exceptions.get_for_update(envelope.exception_id)
    if exception is None:
        raise NotFoundError("Exception", envelope.exception_id)
    event, inserted = await uow.events.append_event_if_new(envelope)
    if not inserted:
        _check_same_event(event, envelope)
        return RecordedEvent(event, exception, replayed=True)
    # The event's own time is the write's time: `resolvedAt` and `updatedAt` equal it exactly,
    # however long the write waited for the exception's lock.
    changes = await state_changes(uow, exception, envelope.state_change, event.created_at)
    if changes:
        exception = await uow.exceptions.apply_changes(exception.exception_id, at=event.created_at, **changes)
    uow.outbound.append(event)
    return RecordedEvent(event, exception, replayed=False)


async def record_client_event(uow: UnitOfWork, envelope: EventEnvelope) -> RecordedEvent:
    """`record_exception_event` for events sent by agents and people: the event types
    SentinAI writes itself are refused, so they always mean what their operation checked."""
    if envelope.event_type in SYSTEM_EVENT_TYPES:
        raise ValidationError("eventType", f"{envelope.event_type} is written by SentinAI itself, not by clients")
    return await record_exception_event(uow, envelope)


async def state_changes(
    uow: UnitOfWork, exception: models.ExceptionRecord, change: StateChange, at: datetime
) -> dict[str, Any]:
    """The column updates a state change made at `at` means, after checking every rule it must obey."""
    changes: dict[str, Any] = {}
    if change.status is not None and change.status != exception.status:
        check_transition(exception.status, change.status)
        changes["status"] = change.status
        changes["resolved_at"] = at if change.status == models.ExceptionStatus.RESOLVED else None
    if change.severity is not None and change.severity != exception.severity:
        changes["severity"] = change.severity
    if change.owner is not None and change.owner != exception.owner:
        changes["owner"] = validation.text("stateChange.owner", change.owner)
    playbook_id = change.playbook_id if change.playbook_id is not None else exception.current_playbook_id
    if change.playbook_id is not None and change.playbook_id != exception.current_playbook_id:
        changes["current_playbook_id"] = change.playbook_id
        changes["current_step"] = 1
    if change.current_step is not None:
        if playbook_id is None:
            raise ValidationError("stateChange.currentStep", "needs a playbook attached to the exception")
        changes["current_step"] = change.current_step
    if "current_playbook_id" in changes or "current_step" in changes:
        await _check_step(uow, playbook_id, changes.get("current_step", exception.current_step), change)
    return changes


async def _check_step(uow: UnitOfWork, playbook_id: int | None, step: int | None, change: StateChange) -> None:
    assert playbook_id is not None
    steps = (await uow.playbooks.steps_for([playbook_id])).get(playbook_id)
    if not steps and await uow.playbooks.get(playbook_id) is None:
        raise NotFoundError("Playbook", playbook_id)
    if step is not None and step > len(steps or []):
        field = "stateChange.currentStep" if change.current_step is not None else "stateChange.playbookId"
        raise ValidationError(field, f"step {step} does not exist; the playbook has {len(steps or [])} steps")


def _check_same_event(stored: models.ExceptionEvent, replay: EventEnvelope) -> None:
    same = (
        stored.exception_id == replay.exception_id
        and stored.event_type == replay.event_type
        and stored.actor_type == replay.actor_type
        and stored.actor_id == replay.actor_id
        and same_json(stored.payload, replay.payload)
        and same_json(stored.state_change, replay.state_change.as_json())
    )
    if not same:
        raise ConflictError(f"eventId {replay.event_id} was already used for a different event")


async def append_system_event(
    uow: UnitOfWork,
    exception_id: str,
    event_type: str,
    actor: Actor,
    payload: dict[str, Any],
    event_id: uuid.UUID | None = None,
) -> models.ExceptionEvent:
    """Append an event the service itself derives from an operation (validated like any other)."""
    envelope = EventEnvelope(
        event_id or uuid.uuid4(),
        exception_id,
        event_type,
        actor.actor_type,
        actor.id,
        {key: value for key, value in payload.items() if value is not None},
    )
    envelope.validate()
    event, inserted = await uow.events.append_event_if_new(envelope)
    if inserted:
        uow.outbound.append(event)
    return event


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
