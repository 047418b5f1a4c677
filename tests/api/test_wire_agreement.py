"""One value reads the same on every surface: for generated events of every type an agent may
record, with payloads of every JSON shape (numbers of any size and precision included), the webhook
body's event equals the GraphQL answer for the same change, digit for digit."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sentinai.db import models
from sentinai.domain.events import PAYLOAD_SCHEMAS, SYSTEM_EVENT_TYPES
from sentinai.domain.shapes import Field
from sentinai.services.webhook_delivery import message_of
from sentinai.wire import encode_json
from tests import strategies
from tests.api import documents as doc
from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio

AGENT_EVENT_TYPES = sorted(set(PAYLOAD_SCHEMAS) - SYSTEM_EVENT_TYPES)
FIELDS = "eventId eventType actorType actorId payload stateChange createdAt"
CHANGE = "query($after: String) { changes(after: $after, first: 1) { nodes { position event { %s } } } }" % FIELDS

texts = strategies.json_texts(8)
json_values = strategies.json_values(digits=40, text_size=8, max_leaves=12)


def _declared(field: Field) -> st.SearchStrategy[Any]:
    """A valid value of a declared payload field."""
    if field.choices:
        return st.sampled_from(sorted(field.choices))
    if field.kind == "integer":
        return st.integers(int(field.minimum or 1), int(field.maximum or 10**12))
    if field.kind == "number":
        low = field.above if field.above is not None else (field.minimum or 0.0)
        exclusive = field.above is not None
        return st.floats(low, field.maximum or 1.0, exclude_min=exclusive) | st.decimals("0.001", "1", places=3).map(
            float
        )
    if field.kind == "list":
        return st.lists(json_values, max_size=3)
    if field.kind == "object":
        return st.dictionaries(texts, json_values, max_size=3)
    if field.kind == "boolean":
        return st.booleans()
    return texts.filter(str.strip).map(lambda text: f"v{text}")


@st.composite
def events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    event_type = draw(st.sampled_from(AGENT_EVENT_TYPES))
    schema = PAYLOAD_SCHEMAS[event_type].fields
    payload = draw(st.dictionaries(texts.filter(lambda key: key not in schema), json_values, max_size=3))
    for name, field in schema.items():
        if field.required or draw(st.booleans()):
            payload[name] = draw(_declared(field))
    return event_type, payload


def exact(body: bytes | str) -> Any:
    """Parsed with every number as the digits it was written with."""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=events())
async def test_a_webhook_body_and_the_graphql_answer_agree_on_every_event(gql, api_a, factory, event):
    event_type, payload = event
    exception_id = f"WIRE-{uuid.uuid4().hex[:8]}"
    await ingest(gql, api_a.operator, exception_id)
    async with factory.uow(api_a.tenant_id, read_only=True) as uow:
        before = await uow.changes.head()
    item = {"eventId": str(uuid.uuid4()), "exceptionId": exception_id, "eventType": event_type, "payload": payload}
    recorded = await gql.post(doc.RECORD, {"input": item}, key=api_a.agent)
    assert recorded["data"]["recordExceptionEvent"]["__typename"] == "ExceptionEventRecorded", recorded

    response = await gql.http.post(
        "/graphql",
        json={"query": CHANGE, "variables": {"after": str(before)}},
        headers={"Authorization": f"Bearer {api_a.viewer}"},
    )
    answered = exact(response.content)["data"]["changes"]["nodes"][0]
    webhook = exact(encode_json(await _message(factory, api_a.tenant_id, int(answered["position"]))))

    sent = webhook["data"]["event"]
    assert {name: sent[name] for name in FIELDS.split()} == answered["event"]


async def _message(factory, tenant_id: str, position: int) -> dict[str, Any]:
    async with factory.uow(tenant_id, read_only=True) as uow:
        change = await uow.scalar(
            select(models.ChangeLog).where(
                models.ChangeLog.tenant_id == tenant_id, models.ChangeLog.position == position
            )
        )
        event = await uow.scalar(
            select(models.ExceptionEvent).where(
                models.ExceptionEvent.tenant_id == tenant_id,
                models.ExceptionEvent.event_id == uuid.UUID(change.row_key),
            )
        )
    return message_of(tenant_id, change, event)
