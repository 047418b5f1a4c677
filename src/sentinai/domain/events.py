"""The event model: a typed envelope and one payload schema per event type.

Payloads are JSON objects. Each type declares the fields it understands; declared
fields are type-checked and required ones must be present, so an agent that sends
`TriageCompleted` without a severity is told exactly that. Undeclared fields are kept
as they are: payloads grow over time and the timeline must not lose what an agent sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sentinai.domain import shapes, validation
from sentinai.domain.enums import ActorType, ExceptionStatus, Severity
from sentinai.domain.shapes import Field, Shape
from sentinai.errors import ValidationError


def _required(kind: str, **options: Any) -> Field:
    return Field(kind, required=True, **options)


_SEVERITIES = frozenset(s.value.upper() for s in Severity)
_UNIT: dict[str, Any] = {"minimum": 0.0, "maximum": 1.0}

_FIELDS: dict[str, dict[str, Field]] = {
    "ExceptionCreated": {"sourceSystem": Field("string"), "summary": Field("string")},
    "ExceptionUpdated": {"changedFields": _required("list")},
    "ExceptionNormalized": {"normalizedFields": Field("list")},
    "TriageCompleted": {
        "severity": _required("string", choices=_SEVERITIES),
        "classification": Field("string"),
        "confidence": Field("number", **_UNIT),
    },
    "PolicyEvaluated": {
        "decision": _required("string"),
        "policyPackVersion": Field("integer", minimum=1),
        "violations": Field("list"),
    },
    "ResolutionSuggested": {
        "summary": _required("string"),
        "playbookId": Field("integer", minimum=1),
        "confidence": Field("number", **_UNIT),
    },
    "ResolutionApproved": {"approvedBy": _required("string"), "planId": Field("integer", minimum=1)},
    "FeedbackCaptured": {
        "outcome": _required("string"),
        "rating": Field("integer", minimum=1, maximum=5),
        "notes": Field("string"),
    },
    "LLMDecisionProposed": {
        "decision": _required("string"),
        "rationale": Field("string"),
        "confidence": Field("number", **_UNIT),
        "model": Field("string"),
    },
    "CopilotQuestionAsked": {"question": _required("string")},
    "CopilotAnswerGiven": {
        "answer": _required("string"),
        "questionEventId": Field("string"),
        "sources": Field("list"),
    },
    "StatusChanged": {"from": _required("string"), "to": _required("string"), "reason": Field("string")},
    "ExceptionAssigned": {"owner": Field("string"), "previousOwner": Field("string")},
    "PlaybookAttached": {"playbookId": _required("integer", minimum=1), "name": Field("string")},
    "PlaybookStepAdvanced": {"fromStep": Field("integer"), "toStep": _required("integer", minimum=1)},
    "ToolInvoked": {"toolName": _required("string"), "status": Field("string")},
    "RemediationPlanProposed": {"planId": _required("integer", minimum=1)},
    "RemediationPlanDecided": {"planId": _required("integer", minimum=1), "decision": _required("string")},
    "RemediationOutcomeRecorded": {"planId": _required("integer", minimum=1), "outcome": _required("string")},
    "CommentAdded": {"text": _required("string")},
    "ContextEnriched": {"context": _required("object")},
    "RootCauseHypothesized": {
        "hypothesis": _required("string", nonblank=True),
        "confidence": Field("number", **_UNIT),
        "evidence": Field("list"),
    },
}

PAYLOAD_SCHEMAS: dict[str, Shape] = {event_type: Shape(fields) for event_type, fields in _FIELDS.items()}
EVENT_TYPES = frozenset(PAYLOAD_SCHEMAS)

# Written only by SentinAI's own operations (ingestion, workflow mutations, plan decisions), so
# the timeline cannot claim an approval or a transition that never went through its rules.
SYSTEM_EVENT_TYPES = frozenset(
    {
        "ExceptionCreated",
        "ExceptionUpdated",
        "StatusChanged",
        "ExceptionAssigned",
        "PlaybookAttached",
        "PlaybookStepAdvanced",
        "RemediationPlanProposed",
        "RemediationPlanDecided",
        "RemediationOutcomeRecorded",
    }
)


def findings(event_type: str, payload: Mapping[str, Any], enriched_context: Mapping[str, Any]) -> dict[str, Any]:
    """The exception columns an agent's finding sets, from its validated payload: `ContextEnriched`
    merges `context` into `enriched_context` key by key (a key sent again replaces the old value,
    the others stay); `RootCauseHypothesized` replaces `rca_hypothesis`. The merged context is
    bounded as any JSON object a client sends, so merging cannot grow it without end."""
    if event_type == "ContextEnriched":
        merged = validation.stored_json({**enriched_context, **payload["context"]})
        if len(json.dumps(merged, default=str)) > validation.MAX_JSON_BYTES:
            limit = validation.MAX_JSON_BYTES // 1024
            raise ValidationError("payload.context", f"would make enrichedContext larger than {limit} KiB of JSON")
        return {"enriched_context": merged}
    if event_type == "RootCauseHypothesized":
        return {"rca_hypothesis": payload["hypothesis"]}
    return {}


def validate_payload(event_type: str, payload: Mapping[str, Any], path: str = "payload") -> None:
    """Raise ValidationError naming the first field of `payload` that breaks its type's schema."""
    if event_type not in PAYLOAD_SCHEMAS:
        raise ValidationError("eventType", f"unknown event type {event_type!r}; expected one of {sorted(EVENT_TYPES)}")
    shapes.check(PAYLOAD_SCHEMAS[event_type], payload, path, required_for=event_type)


@dataclass(frozen=True)
class StateChange:
    """What an event changes on its exception. None means "leave as it is"."""

    status: ExceptionStatus | None = None
    severity: Severity | None = None
    owner: str | None = None
    playbook_id: int | None = None
    current_step: int | None = None

    def as_json(self) -> dict[str, Any]:
        """What is stored with the event: only the fields that were set, in API names."""
        names = {
            "status": "status",
            "severity": "severity",
            "owner": "owner",
            "playbook_id": "playbookId",
            "current_step": "currentStep",
        }
        stored = {}
        for attribute, name in names.items():
            value = getattr(self, attribute)
            if value is not None:
                stored[name] = value.value.upper() if isinstance(value, (ExceptionStatus, Severity)) else value
        return stored


@dataclass(frozen=True)
class EventEnvelope:
    """One event as an agent or a person submits it. `event_id` is chosen by the client
    and makes the submission idempotent."""

    event_id: uuid.UUID
    exception_id: str
    event_type: str
    actor_type: ActorType
    actor_id: str | None
    payload: Any = field(default_factory=dict)
    """As the client sent it: `validate` requires a JSON object of the event type's shape."""
    state_change: StateChange = field(default_factory=StateChange)

    def validate(self) -> None:
        validation.json_object("payload", self.payload)
        validate_payload(self.event_type, self.payload)
        if self.actor_id is not None and not self.actor_id.strip():
            raise ValidationError("actorId", "must not be blank")
        if self.state_change.current_step is not None and self.state_change.current_step < 1:
            raise ValidationError("stateChange.currentStep", "must be at least 1")
        if self.state_change.playbook_id is not None and self.state_change.playbook_id < 1:
            raise ValidationError("stateChange.playbookId", "must be at least 1")
