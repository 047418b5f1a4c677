"""Small steps API tests repeat: ingesting, creating playbooks, proposing plans, building an app."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from tests.api import documents as doc


def event_item(
    exception_id: str,
    event_type: str = "CommentAdded",
    payload: dict[str, Any] | None = None,
    state_change: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `RecordExceptionEventInput`, a comment by default, with a fresh event id unless given."""
    return {
        "eventId": event_id or str(uuid.uuid4()),
        "exceptionId": exception_id,
        "eventType": event_type,
        "payload": payload if payload is not None else {"text": "seen"},
        "stateChange": state_change,
    }


def exception_input(exception_id: str, **overrides: Any) -> dict[str, Any]:
    fields = {
        "exceptionId": exception_id,
        "domain": "Finance",
        "type": "SettlementFailure",
        "severity": "HIGH",
        "sourceSystem": "Murex",
        "entity": "CPTY-1",
        "amount": "125.50",
        "summary": "Trade failed to settle",
        "attributes": {"tradeId": "T-1"},
        "slaDeadline": "2030-01-01T00:00:00+00:00",
    }
    fields.update(overrides)
    return fields


async def ingest(gql, key: str, exception_id: str, **overrides: Any) -> dict[str, Any]:
    data = await gql.data(doc.INGEST, {"input": exception_input(exception_id, **overrides)}, key=key)
    return data["ingestException"]


async def create_playbook(gql, key: str, name: str = "settle", steps: int = 3, tool_id: int | None = None) -> dict:
    step_list = [{"name": f"step {n}", "actionType": "notify", "params": {"n": n}} for n in range(1, steps + 1)]
    if tool_id is not None:
        step_list[0]["toolId"] = tool_id
    data = await gql.data(doc.CREATE_PLAYBOOK, {"input": {"name": name, "steps": step_list}}, key=key)
    return data["createPlaybook"]


async def record(
    gql,
    key: str,
    exception_id: str,
    event_type: str,
    payload: dict,
    state_change: dict | None = None,
    event_id: str | None = None,
) -> dict:
    variables = {
        "input": {
            "eventId": event_id or str(uuid.uuid4()),
            "exceptionId": exception_id,
            "eventType": event_type,
            "payload": payload,
            "stateChange": state_change,
        }
    }
    return (await gql.data(doc.RECORD, variables, key=key))["recordExceptionEvent"]


async def propose(gql, key: str, exception_id: str, **overrides: Any) -> dict:
    fields = {
        "exceptionId": exception_id,
        "rootCause": "stale SSI",
        "confidence": 0.8,
        "actionType": "reinstruct",
        "riskLevel": "MEDIUM",
        "requiresApproval": True,
    }
    fields.update(overrides)
    return (await gql.data(doc.PROPOSE, {"input": fields}, key=key))["proposeRemediationPlan"]


def api_app(runtime, **settings: Any):
    """The API over the test runtime's database and authenticator, with some settings changed."""
    from sentinai.api.app import Runtime, create_app

    changed = replace(runtime.settings, **settings)
    return create_app(runtime=Runtime(changed, runtime.engine, runtime.session_factory, runtime.authenticator))


def pipeline(app):
    """The schema behind an app's /graphql (its memos, its prepared reads)."""
    from starlette.routing import Route

    return next(
        route.endpoint for route in app.routes if isinstance(route, Route) and route.path == "/graphql"
    ).graphql.schema
