"""Workflow operations on one exception. Each is an event on the timeline carrying its
state change, so the timeline alone explains how the exception got where it is."""

from __future__ import annotations

import uuid

from sentinai.db import models
from sentinai.domain import validation
from sentinai.domain.actors import Actor
from sentinai.domain.events import EventEnvelope, StateChange
from sentinai.errors import NotFoundError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services.exceptions import RecordedEvent, record_exception_event


def _envelope(
    actor: Actor, exception_id: str, event_type: str, payload: dict, change: StateChange, event_id: uuid.UUID | None
) -> EventEnvelope:
    payload = {key: value for key, value in payload.items() if value is not None}
    return EventEnvelope(event_id or uuid.uuid4(), exception_id, event_type, actor.actor_type, actor.id, payload, change)


async def _current(uow: UnitOfWork, exception_id: str) -> models.ExceptionRecord:
    exception = await uow.exceptions.get(exception_id)
    if exception is None:
        raise NotFoundError("Exception", exception_id)
    return exception


async def assign_exception(
    uow: UnitOfWork, actor: Actor, exception_id: str, owner: str, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    owner = validation.text("owner", owner) or ""
    previous = (await _current(uow, exception_id)).owner
    envelope = _envelope(actor, exception_id, "ExceptionAssigned", {"owner": owner, "previousOwner": previous},
                         StateChange(owner=owner), event_id)
    return await record_exception_event(uow, envelope)


async def transition_exception(
    uow: UnitOfWork, actor: Actor, exception_id: str, status: models.ExceptionStatus,
    reason: str | None = None, event_id: uuid.UUID | None = None,
) -> RecordedEvent:
    reason = validation.text("reason", reason, max_length=2000, required=False)
    current = (await _current(uow, exception_id)).status
    payload = {"from": current.value.upper(), "to": status.value.upper(), "reason": reason}
    envelope = _envelope(actor, exception_id, "StatusChanged", payload, StateChange(status=status), event_id)
    return await record_exception_event(uow, envelope)


async def attach_playbook(
    uow: UnitOfWork, actor: Actor, exception_id: str, playbook_id: int, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    playbook = await uow.playbooks.get(playbook_id)
    if playbook is None:
        raise NotFoundError("Playbook", playbook_id)
    payload = {"playbookId": playbook_id, "name": playbook.name}
    envelope = _envelope(actor, exception_id, "PlaybookAttached", payload, StateChange(playbook_id=playbook_id), event_id)
    return await record_exception_event(uow, envelope)


async def advance_playbook_step(
    uow: UnitOfWork, actor: Actor, exception_id: str, event_id: uuid.UUID | None = None
) -> RecordedEvent:
    exception = await _current(uow, exception_id)
    if exception.current_playbook_id is None:
        raise ValidationError("exceptionId", "has no playbook attached")
    from_step = exception.current_step or 0
    payload = {"fromStep": from_step, "toStep": from_step + 1}
    envelope = _envelope(actor, exception_id, "PlaybookStepAdvanced", payload,
                         StateChange(current_step=from_step + 1), event_id)
    return await record_exception_event(uow, envelope)
