"""Workflow operations on one exception. Each is an event on the timeline carrying its
state change, so the timeline alone explains how the exception got where it is."""

from __future__ import annotations

import uuid
from typing import Any

from sentinai.db import models
from sentinai.domain import validation
from sentinai.domain.actors import Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.domain.validation import same_json
from sentinai.errors import ConflictError, NotFoundError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services.exceptions import RecordedEvent, record_exception_event


def _envelope(
    actor: Actor, exception_id: str, event_type: str, payload: dict, change: StateChange, event_id: uuid.UUID | None
) -> EventEnvelope:
    payload = {key: value for key, value in payload.items() if value is not None}
    return EventEnvelope(
        event_id or uuid.uuid4(), exception_id, event_type, actor.actor_type, actor.id, payload, change
    )


async def _locked(uow: UnitOfWork, exception_id: str) -> models.ExceptionRecord:
    """The exception, row-locked: the event's payload is built from the state it changes."""
    exception = await uow.exceptions.get_for_update(exception_id)
    if exception is None:
        raise NotFoundError("Exception", exception_id)
    return exception


async def _replay(
    uow: UnitOfWork,
    event_id: uuid.UUID | None,
    exception_id: str,
    event_type: str,
    asked: StateChange | None = None,
    asked_payload: dict[str, Any] | None = None,
) -> RecordedEvent | None:
    """The stored result when `event_id` was already used for this same request.

    A retry is recognised by its id, exception, operation and what it asked for (`asked`, and
    the `asked_payload` fields the caller chose, such as a reason); the rest of a payload is
    derived from the state at the time. The same id with a different request is a Conflict:
    answering `replayed` would acknowledge a write that never happened.
    """
    if event_id is None or (stored := await uow.events.get(event_id)) is None:
        return None
    same = (stored.exception_id, stored.event_type) == (exception_id, event_type)
    if asked is not None:
        same = same and same_json(stored.state_change, asked.as_json())
    for name, value in (asked_payload or {}).items():
        same = same and same_json(stored.payload.get(name), value)
    if not same:
        raise ConflictError(f"eventId {event_id} was already used for a different event")
    return RecordedEvent(stored, await _locked(uow, exception_id), replayed=True)


async def assign_exception(
    uow: UnitOfWork, actor: Actor, exception_id: str, owner: str, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    owner = validation.text("owner", owner) or ""
    if replay := await _replay(uow, event_id, exception_id, "ExceptionAssigned", StateChange(owner=owner)):
        return replay
    previous = (await _locked(uow, exception_id)).owner
    envelope = _envelope(
        actor,
        exception_id,
        "ExceptionAssigned",
        {"owner": owner, "previousOwner": previous},
        StateChange(owner=owner),
        event_id,
    )
    return await record_exception_event(uow, envelope)


async def transition_exception(
    uow: UnitOfWork,
    actor: Actor,
    exception_id: str,
    status: models.ExceptionStatus,
    reason: str | None = None,
    event_id: uuid.UUID | None = None,
) -> RecordedEvent:
    reason = validation.text("reason", reason, max_length=2000, required=False)
    asked = StateChange(status=status)
    if replay := await _replay(uow, event_id, exception_id, "StatusChanged", asked, {"reason": reason}):
        return replay
    current = (await _locked(uow, exception_id)).status
    if current == status:
        raise ValidationError("status", f"the exception is already {status.value.upper()}")
    payload = {"from": current.value.upper(), "to": status.value.upper(), "reason": reason}
    envelope = _envelope(actor, exception_id, "StatusChanged", payload, StateChange(status=status), event_id)
    return await record_exception_event(uow, envelope)


async def attach_playbook(
    uow: UnitOfWork, actor: Actor, exception_id: str, playbook_id: int, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    asked = StateChange(playbook_id=playbook_id)
    if replay := await _replay(uow, event_id, exception_id, "PlaybookAttached", asked):
        return replay
    await _locked(uow, exception_id)
    playbook = await uow.playbooks.get(playbook_id)
    if playbook is None:
        raise NotFoundError("Playbook", playbook_id)
    payload = {"playbookId": playbook_id, "name": playbook.name}
    envelope = _envelope(
        actor, exception_id, "PlaybookAttached", payload, StateChange(playbook_id=playbook_id), event_id
    )
    return await record_exception_event(uow, envelope)


async def advance_playbook_step(
    uow: UnitOfWork, actor: Actor, exception_id: str, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    if replay := await _replay(uow, event_id, exception_id, "PlaybookStepAdvanced"):
        return replay
    exception = await _locked(uow, exception_id)
    if exception.current_playbook_id is None:
        raise ValidationError("exceptionId", "has no playbook attached")
    from_step = exception.current_step or 0
    payload = {"fromStep": from_step, "toStep": from_step + 1}
    envelope = _envelope(
        actor, exception_id, "PlaybookStepAdvanced", payload, StateChange(current_step=from_step + 1), event_id
    )
    return await record_exception_event(uow, envelope)
