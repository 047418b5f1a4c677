"""Ingesting exceptions and the agents' persistence pattern (seed §6.1)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sentinai.db import models
from sentinai.domain import validation
from sentinai.domain.actors import Actor
from sentinai.domain.deadlines import deadline_for, derived, follows_packs
from sentinai.domain.events import SYSTEM_EVENT_TYPES, EventEnvelope, StateChange, findings
from sentinai.domain.lifecycle import check_transition
from sentinai.domain.packs import check_exception_kind
from sentinai.domain.validation import same_json, stored_json
from sentinai.errors import ConflictError, DomainError, NotFoundError, ValidationError
from sentinai.repositories.exceptions import SOURCE_FIELDS, IngestOutcome, NewException, source_changes
from sentinai.repositories.packs import PacksInForce
from sentinai.repositories.unit_of_work import UnitOfWork
from sentinai.services.intake import IntakeBatch, StaleBatchError

T = TypeVar("T")


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
    return _only(await ingest_exceptions(uow, [new], actor))


async def ingest_exceptions(
    uow: UnitOfWork, news: Sequence[NewException], actor: Actor
) -> list[Ingested | DomainError]:
    """`ingest_exception` for each item, in order, in a constant number of statements: an item
    sees what the items before it did (a second ingestion of one exception updates the first's).
    A failed item's answer is its error, and it writes nothing."""
    return await _again_if_one_lost_a_race(news, lambda: _ingest_all(uow, news, actor))


async def _ingest_all(uow: UnitOfWork, news: Sequence[NewException], actor: Actor) -> list[Ingested | DomainError]:
    checked: list[NewException | DomainError] = [_attempt(validate_new_exception, new) for new in news]
    valid = [new for new in checked if isinstance(new, NewException)]
    batch = await IntakeBatch.begin(uow, [new.exception_id for new in valid])
    packs = await uow.policy_packs.in_force_for([new.domain for new in valid]) if valid else None
    answers = [new if isinstance(new, DomainError) else _attempt(_ingest, batch, packs, new, actor) for new in checked]
    await batch.write()
    return answers


def _ingest(batch: IntakeBatch, packs: PacksInForce, new: NewException, actor: Actor) -> Ingested:
    stored = batch.exceptions.get(new.exception_id)
    _check_kind(packs, new, stored)
    if stored is None:
        return _create(batch, packs, new, actor)
    changed = source_changes(stored, new)
    if not changed:
        return Ingested(stored, IngestOutcome.UNCHANGED)
    values = {name: getattr(new, name) for name in changed} | _stored_attributes(new, changed)
    if "sla_deadline" in changed or ("domain" in changed and follows_packs(stored.sla_deadline, stored.sla_source)):
        sla = packs.sla(new.domain)
        values |= deadline_for(new.sla_deadline, stored.created_at, stored.severity, sla).columns()
    record = batch.change(new.exception_id, **values)
    names = [_camel(name) for name in changed]
    batch.append(system_event(record.exception_id, "ExceptionUpdated", actor, {"changedFields": names}))
    return Ingested(record, IngestOutcome.UPDATED, tuple(names))


def _create(batch: IntakeBatch, packs: PacksInForce, new: NewException, actor: Actor) -> Ingested:
    """A new exception; without a deadline from its source, the packs' hours give one from its
    creation time (the batch's database time, as `createdAt`)."""
    deadline = deadline_for(new.sla_deadline, batch.at, new.severity, packs.sla(new.domain))
    record = batch.create(
        **{name: getattr(new, name) for name in (*SOURCE_FIELDS, "exception_id", "severity", "status", "owner")}
        | _stored_attributes(new)
        | deadline.columns(),
        resolved_at=batch.at if new.status == models.ExceptionStatus.RESOLVED else None,
        domain_pack_version=packs.domains[new.domain].version,
        policy_pack_version=packs.policy_version,
    )
    payload = {"sourceSystem": record.source_system, "summary": record.summary}
    batch.append(system_event(record.exception_id, "ExceptionCreated", actor, payload))
    return Ingested(record, IngestOutcome.CREATED)


def _stored_attributes(new: NewException, changed: Sequence[str] = ("attributes",)) -> dict[str, Any]:
    """The attributes as the answer shows them: as jsonb will hold them (never read back)."""
    return {"attributes": stored_json(new.attributes)} if "attributes" in changed else {}


def _check_kind(packs: PacksInForce, new: NewException, stored: models.ExceptionRecord | None) -> None:
    """The domain and type against the packs in force. An exception already stored with the same
    domain and type was accepted under the packs of its day: its replays stay idempotent."""
    try:
        check_exception_kind(new.domain, new.type, packs.tenant_domains, packs.domains[new.domain].exception_types)
    except ValidationError:
        if stored is None or (stored.domain, stored.type) != (new.domain, new.type):
            raise


async def record_exception_event(uow: UnitOfWork, envelope: EventEnvelope) -> RecordedEvent:
    """The agents' pattern, atomically: lock the exception, append the event if new,
    apply the state change it carries, queue the outbound event.

    A replay of the same event id changes nothing and returns the stored event; reusing
    an event id for different content is a conflict, never a silent overwrite.
    """
    return _only(await record_events(uow, [envelope]))


async def record_client_event(uow: UnitOfWork, envelope: EventEnvelope) -> RecordedEvent:
    """`record_exception_event` for events sent by agents and people: the event types
    SentinAI writes itself are refused, so they always mean what their operation checked."""
    return _only(await record_events(uow, [envelope], from_clients=True))


async def record_events(
    uow: UnitOfWork, envelopes: Sequence[EventEnvelope], *, from_clients: bool = False
) -> list[RecordedEvent | DomainError]:
    """`record_exception_event` (`record_client_event` when `from_clients`) for each envelope, in
    order, in a constant number of statements: an event sees the state the events before it left.
    A failed item's answer is its error, and it writes nothing."""
    return await _again_if_one_lost_a_race(envelopes, lambda: _record_all(uow, envelopes, from_clients))


async def _record_all(
    uow: UnitOfWork, envelopes: Sequence[EventEnvelope], from_clients: bool
) -> list[RecordedEvent | DomainError]:
    checked = [_attempt(_check_envelope, envelope, from_clients) for envelope in envelopes]
    valid = [envelope for envelope in checked if isinstance(envelope, EventEnvelope)]
    batch = await IntakeBatch.begin(uow, [e.exception_id for e in valid], [e.event_id for e in valid])
    step_counts = await _step_counts(uow, batch, valid)
    packs = await _packs_for_deadlines(uow, batch, valid)
    answers = [
        envelope if isinstance(envelope, DomainError) else _attempt(_record, batch, step_counts, packs, envelope)
        for envelope in checked
    ]
    await batch.write()
    return answers


def _check_envelope(envelope: EventEnvelope, from_clients: bool) -> EventEnvelope:
    if from_clients and envelope.event_type in SYSTEM_EVENT_TYPES:
        raise ValidationError("eventType", f"{envelope.event_type} is written by SentinAI itself, not by clients")
    envelope.validate()
    return envelope


def _record(
    batch: IntakeBatch, step_counts: Mapping[int, int], packs: PacksInForce | None, envelope: EventEnvelope
) -> RecordedEvent:
    exception = batch.exceptions.get(envelope.exception_id)
    if exception is None:
        raise NotFoundError("Exception", envelope.exception_id)
    stored = batch.events.get(envelope.event_id)
    if stored is not None:
        _check_same_event(stored, envelope)
        return RecordedEvent(stored, exception, replayed=True)
    changes = state_changes(exception, envelope.state_change, batch.at, step_counts)
    changes |= _deadline_change(exception, changes, packs)
    changes |= findings(envelope.event_type, envelope.payload, exception.enriched_context)
    event = batch.append(envelope)
    if changes:
        exception = batch.change(exception.exception_id, **changes)
    return RecordedEvent(event, exception, replayed=False)


async def _step_counts(uow: UnitOfWork, batch: IntakeBatch, envelopes: Sequence[EventEnvelope]) -> dict[int, int]:
    """The step counts of every playbook the events' state changes may be checked against: the
    playbooks they attach, and those their exceptions follow when they move a step."""
    wanted = {e.state_change.playbook_id for e in envelopes if e.state_change.playbook_id is not None}
    for envelope in envelopes:
        exception = batch.exceptions.get(envelope.exception_id)
        if envelope.state_change.current_step is not None and exception and exception.current_playbook_id:
            wanted.add(exception.current_playbook_id)
    return await uow.playbooks.step_counts(sorted(wanted)) if wanted else {}


async def _packs_for_deadlines(
    uow: UnitOfWork, batch: IntakeBatch, envelopes: Sequence[EventEnvelope]
) -> PacksInForce | None:
    """The packs in force for the exceptions whose deadline a severity change of these events would
    recompute (domain.deadlines.follows_packs): one statement, and none when there is no such
    event. Read from the locked rows, before the items run: whether a deadline follows cannot change
    within a batch of events, which never touch a sent deadline and keep a followed one derived or absent."""
    domains = set()
    for envelope in envelopes:
        exception = batch.exceptions.get(envelope.exception_id)
        if envelope.state_change.severity is not None and exception is not None:
            if follows_packs(exception.sla_deadline, exception.sla_source):
                domains.add(exception.domain)
    return await uow.policy_packs.in_force_for(sorted(domains)) if domains else None


def _deadline_change(
    exception: models.ExceptionRecord, changes: Mapping[str, Any], packs: PacksInForce | None
) -> dict[str, Any]:
    """A derived deadline follows a severity change: the creation time plus the new severity's
    hours in the packs in force now. A deadline the source sent stays as it is."""
    if "severity" not in changes or not follows_packs(exception.sla_deadline, exception.sla_source):
        return {}
    assert packs is not None, "_packs_for_deadlines read them"
    return derived(exception.created_at, changes["severity"], packs.sla(exception.domain)).columns()


def state_changes(
    exception: models.ExceptionRecord, change: StateChange, at: datetime, step_counts: Mapping[int, int]
) -> dict[str, Any]:
    """The column updates a state change made at `at` means, after checking every rule it must
    obey. `step_counts` holds the steps of the playbooks it may name (absent: no such playbook)."""
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
        _check_step(step_counts, playbook_id, changes.get("current_step", exception.current_step), change)
    return changes


def _check_step(step_counts: Mapping[int, int], playbook_id: int | None, step: int | None, change: StateChange) -> None:
    assert playbook_id is not None
    steps = step_counts.get(playbook_id)
    if steps is None:
        raise NotFoundError("Playbook", playbook_id)
    if step is not None and step > steps:
        field = "stateChange.currentStep" if change.current_step is not None else "stateChange.playbookId"
        raise ValidationError(field, f"step {step} does not exist; the playbook has {steps} steps")


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


async def _again_if_one_lost_a_race(items: Sequence[Any], run: Callable[[], Awaitable[T]]) -> T:
    """`run()`, and for a single item once more if it lost a race for its new row: it has then
    written nothing, and the winner has committed, so reading again finds it (and answers as for
    a replay). A larger batch raises StaleBatchError: its caller undoes it and runs each item alone."""
    try:
        return await run()
    except StaleBatchError:
        if len(items) > 1:
            raise
    return await run()


def _attempt(rule: Callable[..., T], *arguments: Any) -> T | DomainError:
    try:
        return rule(*arguments)
    except DomainError as error:
        return error


def _only(answers: Sequence[T | DomainError]) -> T:
    (answer,) = answers
    if isinstance(answer, DomainError):
        raise answer
    return answer


def system_event(
    exception_id: str, event_type: str, actor: Actor, payload: dict[str, Any], event_id: uuid.UUID | None = None
) -> EventEnvelope:
    """An event the service itself derives from an operation, validated like any other."""
    envelope = EventEnvelope(
        event_id or uuid.uuid4(),
        exception_id,
        event_type,
        actor.actor_type,
        actor.id,
        {key: value for key, value in payload.items() if value is not None},
    )
    envelope.validate()
    return envelope


async def append_system_event(
    uow: UnitOfWork,
    exception_id: str,
    event_type: str,
    actor: Actor,
    payload: dict[str, Any],
    event_id: uuid.UUID | None = None,
) -> models.ExceptionEvent:
    """Append an event the service itself derives from an operation (validated like any other)."""
    envelope = system_event(exception_id, event_type, actor, payload, event_id)
    event, inserted = await uow.events.append_event_if_new(envelope)
    if inserted:
        uow.outbound.append(event)
    return event


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
