"""`@built_directly` inputs are built from the coerced GraphQL values without Strawberry's
per-field conversion; generated values must give the very objects Strawberry itself builds."""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument

from sentinai.api.schema import schema
from sentinai.schema.enums import ExceptionStatus, Severity
from sentinai.schema.exceptions import (
    IngestExceptionInput,
    IngestExceptionsInput,
    RecordExceptionEventInput,
    RecordExceptionEventsInput,
    StateChangeInput,
)

DIRECT = (IngestExceptionInput, RecordExceptionEventInput, StateChangeInput)
texts = st.text(max_size=5)
json_values = st.none() | st.integers() | texts | st.dictionaries(texts, st.integers() | texts, max_size=3)


def _maybe(fields: dict) -> st.SearchStrategy[dict]:
    """Each field sent, sent as null, or left out."""
    return st.fixed_dictionaries({}, optional={name: st.none() | value for name, value in fields.items()})


state_changes = _maybe(
    {
        "status": st.sampled_from(ExceptionStatus),
        "severity": st.sampled_from(Severity),
        "owner": texts,
        "playbookId": st.integers(),
        "currentStep": st.integers(),
    }
)
events = _maybe(
    {
        "eventId": st.uuids(),
        "exceptionId": texts,
        "eventType": texts,
        "payload": json_values,
        "stateChange": state_changes,
    }
)
exceptions = _maybe(
    {
        "exceptionId": texts,
        "domain": texts,
        "type": texts,
        "severity": st.sampled_from(Severity),
        "sourceSystem": texts,
        "entity": texts,
        "amount": st.decimals(allow_nan=False, allow_infinity=False, places=2),
        "slaDeadline": st.datetimes(timezones=st.just(UTC)),
        "summary": texts,
        "attributes": json_values,
    }
)


@contextmanager
def _strawberry_s_own_conversion():
    hooks = {cls: cls.__strawberry_definition__.from_input for cls in DIRECT}
    try:
        for cls in DIRECT:
            cls.__strawberry_definition__.from_input = None
        yield
    finally:
        for cls, hook in hooks.items():
            cls.__strawberry_definition__.from_input = hook


def _both_ways(value, type_):
    registry, config = schema.schema_converter.scalar_registry, schema.config
    direct = convert_argument(value, type_, registry, config)
    with _strawberry_s_own_conversion():
        generic = convert_argument(value, type_, registry, config)
    return direct, generic


@settings(max_examples=200, derandomize=True)
@given(st.fixed_dictionaries({"items": st.lists(exceptions, max_size=3)}))
def test_generated_ingest_batches_are_built_as_strawberry_builds_them(value):
    direct, generic = _both_ways(value, IngestExceptionsInput)
    assert direct == generic and [type(item) for item in direct.items] == [type(item) for item in generic.items]


@settings(max_examples=200, derandomize=True)
@given(st.fixed_dictionaries({"items": st.lists(events, max_size=3)}))
def test_generated_record_batches_are_built_as_strawberry_builds_them(value):
    direct, generic = _both_ways(value, RecordExceptionEventsInput)
    assert direct == generic
    assert [type(item.state_change) for item in direct.items] == [type(item.state_change) for item in generic.items]


def test_a_full_event_keeps_every_value_as_graphql_core_parsed_it():
    event_id, at = uuid.uuid4(), datetime(2030, 1, 1, tzinfo=UTC)
    value = {
        "eventId": event_id,
        "exceptionId": "E-1",
        "eventType": "TriageCompleted",
        "payload": {"n": Decimal("1.50")},
        "stateChange": {"status": ExceptionStatus.RESOLVED, "playbookId": 3},
    }
    direct, generic = _both_ways(value, RecordExceptionEventInput)
    assert direct == generic
    assert direct.event_id is event_id and direct.state_change.status is ExceptionStatus.RESOLVED
    assert direct.state_change.owner is None and at.tzinfo is UTC
