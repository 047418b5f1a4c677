"""Hypothesis strategies for GraphQL input values, derived from the schema's input types.

Every scalar has a plausible strategy (what a working client sends, with ids the tenant really
holds, so writes succeed, replay and conflict) and a hostile one (what PostgreSQL, Python's
decoders and the calendar choke on). An input object is mostly plausible with a few hostile
fields, so a hostile value reaches the code behind a field instead of being stopped by the first
required field that a purely random object gets wrong.

Values are JSON-ready (strings, numbers, lists, dicts), to be written with
`json.dumps(..., allow_nan=True)`: NaN, ±Infinity and lone surrogates travel as Python's encoder
writes them. A key missing from a drawn object means the field was omitted.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)
from hypothesis import strategies as st

from sentinai.domain.events import EVENT_TYPES, SYSTEM_EVENT_TYPES


@dataclass
class Pools:
    """What the fuzzed tenant holds, filled by the test's setup."""

    exception_ids: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    playbook_ids: list[int] = field(default_factory=list)
    plan_ids: list[int] = field(default_factory=list)
    tool_ids: list[int] = field(default_factory=list)
    key_ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    global_ids: list[str] = field(default_factory=list)


# -- hostile leaves


@dataclass(frozen=True)
class Raw:
    """A value Python's JSON encoder will not write, sent as these bytes (`fuzzing.encode`)."""

    wire: bytes

    def __repr__(self) -> str:
        return f"Raw({self.wire[:8]!r}..., {len(self.wire)} bytes)"


def wire_json(value: Any) -> bytes:
    """`value` as Python's encoder writes it (NaN, Infinity and lone surrogates included), with
    any `Raw` value spliced in as its bytes."""
    spliced: list[bytes] = []

    def placeholder(leaf: Any) -> str:
        if not isinstance(leaf, Raw):
            raise TypeError(f"cannot encode {leaf!r}")
        spliced.append(leaf.wire)
        return f"@@raw{len(spliced) - 1}@@"

    text = json.dumps(value, allow_nan=True, default=placeholder).encode()
    for n, wire in enumerate(spliced):
        text = text.replace(f'"@@raw{n}@@"'.encode(), wire, 1)
    return text


HUGE_INTEGER = Raw(b"1" + b"0" * 4300)
"""4,301 digits: one more than Python converts between text and int by default."""
NOT_UTF8 = Raw(b'"\xff"')
"""A JSON string holding a byte that is not UTF-8."""

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "   ",
        "\ud800",
        "x\udfffy",
        "a\x00b",
        "\u202eFZ-1\u202c",
        "مرحبا",
        "שלום",
        "😀🔥",
        "👨\u200d👩\u200d👧",
        '"',
        "'",
        "\\",
        "\\u0000",
        "'; DROP TABLE exception; --",
        "%s%n{0}",
        "\r\n\t",
        "\ufeffFZ-1",
        "\u200b",
        "FZ-1 ",
        "null",
        "١٢٣",
    ]
)
LONG_TEXT = st.sampled_from(["x", "é", "😀", '"\\', "\u202e"]).map(lambda unit: unit * 10_001)
TEXT = st.one_of(HOSTILE_TEXT, HOSTILE_TEXT, LONG_TEXT, st.text(max_size=40), st.just(NOT_UTF8))

INT_EDGES = [-(2**31), 2**31 - 1, 2**31, -(2**31) - 1, 0, -1, 1, 100, 101, 2**53, 2**63]
INTS = st.one_of(st.sampled_from([*INT_EDGES, HUGE_INTEGER]), st.integers(-(2**31), 2**31 - 1))

FLOAT_EDGES = [math.nan, math.inf, -math.inf, 1e308, -1e308, -0.0, 0.0, 1e-10, 5e-324, 1.0000000001, -1.0, 2.0]
FLOATS = st.one_of(st.sampled_from(FLOAT_EDGES), st.floats())

INSTANTS = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",
        "0001-01-02T00:00:00+14:00",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:00:00-05:00",
        "9999-12-30T23:59:59.999999-12:00",
        "2026-01-31T09:00:00+14:00",
        "2026-01-31T09:00:00-12:00",
        "2026-01-31T09:00:00+05:45",
        "2026-01-31T09:00:00",
        "2026-01-31",
        "2026-02-30T00:00:00Z",
        "2026-01-31T24:00:00Z",
        "2026-01-31T09:00:00+24:00",
        "2026-01-31T09:00:00.1234567Z",
        "+275760-09-13T00:00:00Z",
        "yesterday",
        "",
        "NaN",
    ]
)
DECIMAL_EDGES = st.sampled_from(
    [
        "9999999999999999.99",
        "-9999999999999999.99",
        "9999999999999999.995",
        "1E+16",
        "0.005",
        "-0",
        "-0.00",
        "1e-10",
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1E+999999999",
        "1E-999999999",
        "12,50",
        "",
        "0x10",
        1e308,
        10**20,
        HUGE_INTEGER,
    ]
)
UUID_GARBAGE = st.sampled_from(
    [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678123456781234567812345678",
        "12345678-1234-5678-1234-56781234567\x00",
        "",
    ]
)
WRONG_TYPE = st.sampled_from([None, "1", 1, 1.5, True, [], {}, [None]])


def nested(depth: int, leaf: Any = 1) -> Any:
    """A JSON value `depth` levels deep, alternating objects and arrays."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return {"deep": value}


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    FLOATS,
    TEXT,
    st.sampled_from([10**400, -(10**400), 1e23, HUGE_INTEGER]),
)
JSON_KEYS = st.one_of(st.sampled_from(["k", "\ud800", "a\x00", "", "😀", "$where", "__proto__"]), st.text(max_size=8))
JSON_ANY = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(JSON_KEYS, children, max_size=3),
    max_leaves=8,
)
HOSTILE_JSON = st.one_of(
    st.dictionaries(JSON_KEYS, JSON_ANY, max_size=4),
    st.integers(17, 30).map(nested),
    st.integers(14, 20).map(lambda depth: nested(depth, math.nan)),
    st.just({"big": "x" * 70_000}),
    JSON_ANY,
)


# -- plausible leaves, by field name

PLAUSIBLE_TEXT = {
    "domain": ["Finance", "Healthcare"],
    "type": ["SettlementFailure", "ClaimDenied"],
    "sourceSystem": ["Murex", "ClaimsApp"],
    "entity": ["CPTY-1", "CPTY-2"],
    "owner": ["alice", "agent-7"],
    "actionType": ["notify", "escalate", "reinstruct"],
    "name": ["settle", "escalate"],
    "component": ["playbooks", "access"],
    "event": ["playbook.created", "api_key.created"],
    "actor": ["alice"],
}
DEFAULT_TEXT = ["Trade failed to settle", "stale SSI", "x"]

KITCHEN_SINK_PAYLOAD = {
    "text": "looked at it",
    "severity": "HIGH",
    "decision": "approve",
    "summary": "re-instruct",
    "approvedBy": "alice",
    "outcome": "fixed",
    "question": "why?",
    "answer": "stale SSI",
    "toolName": "swift",
    "changedFields": [],
    "from": "OPEN",
    "to": "ANALYZING",
}
PLAUSIBLE_JSON = {
    "payload": [KITCHEN_SINK_PAYLOAD, {"text": "hello"}, {"severity": "LOW", "confidence": 0.5}],
    "pack": [{"sla": {"atRiskMinutes": 60}}, {}],
    "secrets": [{"token": "s3cret"}],
}
DEFAULT_JSON = [{}, {"tradeId": "T-1"}, {"n": 1, "tags": ["a", "b"]}]
PLAUSIBLE_INT = {"currentStep": [1, 2, 3], "version": [1, 2], "first": [1, 2, 20], "rating": [3]}
PLAUSIBLE_FLOAT = {"confidence": st.floats(0, 1)}
POOLED = {
    "exceptionId": "exception_ids",
    "eventId": "event_ids",
    "playbookId": "playbook_ids",
    "planId": "plan_ids",
    "toolId": "tool_ids",
    "keyId": "key_ids",
    "after": "cursors",
    "id": "global_ids",
}
CLIENT_EVENT_TYPES = st.sampled_from(sorted(EVENT_TYPES - SYSTEM_EVENT_TYPES))
MISSING = {"exceptionId": "FZ-404", "playbookId": 2**31 - 1, "planId": 987654, "toolId": 987654}

# Cursor names and the kinds of their keys (repositories/*: KeysetOrder), for forged cursors.
CURSOR_SHAPES = {
    "newest": ("instant", "text"),
    "oldest": ("instant", "text"),
    "sla": ("instant", "text"),
    "severity": ("severity", "instant", "text"),
    "playbooks": ("text", "int"),
    "tools": ("text", "int"),
    "audit": ("instant", "int"),
    "timeline": ("instant", "int"),
    "timeline-desc": ("instant", "int"),
    "tenants": ("text",),
}
CURSOR_KEYS = {
    "instant": st.one_of(INSTANTS, st.just("2026-01-31T09:00:00+00:00")),
    "text": st.one_of(HOSTILE_TEXT, st.just("FZ-1")),
    "int": st.sampled_from([0, 1, 2**63 - 1, 2**63, -(2**63) - 1, True, 1.5, math.nan]),
    "severity": st.sampled_from(["critical", "CRITICAL", "x", 1, ["high"]]),
}
NODE_TYPES = ["Exception", "ExceptionEvent", "Playbook", "PlaybookStep", "Tool", "RemediationPlan", "ApiKey"]
NODE_TYPES += ["AuditEntry", "PolicyPack", "DomainPack", "Tenant", "Nope"]


def _b64(raw: bytes, urlsafe: bool = True) -> str:
    """Cursors are unpadded base64url; Relay global ids are padded standard base64."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") if urlsafe else base64.b64encode(raw).decode()


@st.composite
def forged_cursors(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(CURSOR_SHAPES)))
    keys = [draw(st.one_of(CURSOR_KEYS[kind], JSON_LEAVES)) for kind in CURSOR_SHAPES[name]]
    keys = draw(st.sampled_from([keys, keys[:-1], [*keys, 1]]))  # sometimes a key too few or too many
    return _b64(wire_json([name, *keys]))  # a key may be a Raw value: bytes no JSON encoder writes


def forged_global_ids() -> st.SearchStrategy[str]:
    numbers = st.sampled_from(INT_EDGES).map(str)
    pack_keys = st.builds(lambda domain, version: f"{domain}@{version}", st.sampled_from(["Finance", "", "@"]), numbers)
    keys = st.one_of(HOSTILE_TEXT, numbers, pack_keys, st.just("FZ-1"))
    plain = st.builds(lambda kind, key: f"{kind}:{key}", st.sampled_from(NODE_TYPES), keys)
    return plain.map(lambda text: _b64(text.encode("utf-8", "surrogatepass"), urlsafe=False))


class InputValues:
    """Strategies for the values of GraphQL input types, plausible or hostile, by field name."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools

    def arguments(self, fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        """Values for named input fields or arguments (both carry `.type` and `.default_value`):
        none, one or two of them hostile."""
        return self._object(fields, hostile_count=(0, 2))

    def value(self, graphql_type: GraphQLInputType, name: str, hostile: bool) -> st.SearchStrategy[Any]:
        if isinstance(graphql_type, GraphQLNonNull):
            return self.value(graphql_type.of_type, name, hostile)
        if isinstance(graphql_type, GraphQLList):
            return self._list(graphql_type.of_type, name, hostile)
        if isinstance(graphql_type, GraphQLInputObjectType):
            return self._object(graphql_type.fields, hostile_count=(1, 2) if hostile else (0, 0))
        if isinstance(graphql_type, GraphQLEnumType):
            names = sorted(graphql_type.values)
            garbage = st.sampled_from(["NOT_A_VALUE", names[0].lower(), ""])
            return st.one_of(st.sampled_from(names), garbage, WRONG_TYPE) if hostile else st.sampled_from(names)
        assert isinstance(graphql_type, GraphQLScalarType), graphql_type
        if hostile:
            return st.one_of(self._hostile_scalar(graphql_type.name, name), WRONG_TYPE)
        return self._plausible_scalar(graphql_type.name, name)

    def _object(self, fields: dict[str, Any], hostile_count: tuple[int, int]) -> st.SearchStrategy[dict[str, Any]]:
        """Each field plausible, or omitted when optional, except a few drawn to be hostile (or null)."""
        names, (fewest, most) = sorted(fields), hostile_count

        @st.composite
        def draw_object(draw: st.DrawFn) -> dict[str, Any]:
            hostile = draw(st.sets(st.sampled_from(names), min_size=fewest, max_size=min(most, len(names))))
            drawn = {}
            for name in names:
                input_field = fields[name]
                required = isinstance(input_field.type, GraphQLNonNull) and input_field.default_value is Undefined
                if not required and draw(st.integers(0, 3)) == 0:
                    continue  # omitted
                if not required and name in hostile and draw(st.booleans()):
                    drawn[name] = None
                    continue
                drawn[name] = draw(self.value(input_field.type, name, hostile=name in hostile))
            return drawn

        return draw_object()

    def _list(self, item_type: GraphQLInputType, name: str, hostile: bool) -> st.SearchStrategy[list[Any]]:
        plausible = st.lists(self.value(item_type, name, hostile=False), min_size=1, max_size=3)
        if not hostile:
            return plausible
        mixed = st.lists(st.one_of(self.value(item_type, name, True), self.value(item_type, name, False)), max_size=4)
        return st.one_of(mixed, st.just([]), self.value(item_type, name, False).map(lambda item: [item] * 101))

    def _plausible_scalar(self, scalar: str, name: str) -> st.SearchStrategy[Any]:
        pool = getattr(self.pools, POOLED.get(name, ""), None)
        if name == "eventId":  # mostly a used one: replays and conflicts
            return st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.uuids().map(str))
        if pool:
            return st.sampled_from(pool)
        if name in ("eventType", "eventTypes"):  # mostly one a client may record
            return st.one_of(CLIENT_EVENT_TYPES, CLIENT_EVENT_TYPES, st.sampled_from(sorted(EVENT_TYPES)))
        return PLAUSIBLE_SCALARS[scalar](name)

    def _hostile_scalar(self, scalar: str, name: str) -> st.SearchStrategy[Any]:
        hostile = HOSTILE_SCALARS[scalar]
        if name in MISSING:
            hostile = st.one_of(hostile, st.just(MISSING[name]))
        if name == "after":
            hostile = st.one_of(hostile, forged_cursors(), forged_cursors())
        if name == "id":
            hostile = st.one_of(hostile, forged_global_ids())
        if name in ("eventType", "eventTypes"):
            hostile = st.one_of(hostile, st.sampled_from(sorted(EVENT_TYPES)).map(str.lower))
        return hostile


def _plausible_datetimes() -> st.SearchStrategy[str]:
    zones = st.sampled_from(["Z", "+00:00", "+05:45", "-12:00", "+14:00"])
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    return st.builds(lambda moment, zone: moment.isoformat() + zone, moments, zones)


PLAUSIBLE_SCALARS = {
    "String": lambda name: st.sampled_from(PLAUSIBLE_TEXT.get(name, DEFAULT_TEXT)),
    "ID": lambda name: st.just("RXhjZXB0aW9uOkZaLTE="),  # Exception:FZ-1
    "Int": lambda name: st.sampled_from(PLAUSIBLE_INT.get(name, [1, 2, 5])),
    "Float": lambda name: PLAUSIBLE_FLOAT.get(name, st.sampled_from([0.5, 1.0])),
    "Boolean": lambda name: st.booleans(),
    "JSON": lambda name: st.sampled_from(PLAUSIBLE_JSON.get(name, DEFAULT_JSON)),
    "UUID": lambda name: st.uuids().map(str),
    "DateTime": lambda name: _plausible_datetimes(),
    "Decimal": lambda name: st.decimals(-(10**6), 10**6, places=2).map(str),
}
HOSTILE_SCALARS = {
    "String": TEXT,
    "ID": st.one_of(TEXT, forged_global_ids()),
    "Int": INTS,
    "Float": FLOATS,
    "Boolean": WRONG_TYPE,
    "JSON": HOSTILE_JSON,
    "UUID": st.one_of(UUID_GARBAGE, st.uuids().map(lambda value: str(value).upper()), TEXT),
    "DateTime": st.one_of(INSTANTS, INSTANTS, TEXT),
    "Decimal": st.one_of(DECIMAL_EDGES, DECIMAL_EDGES, TEXT),
}


def fixed_uuids(label: str, count: int) -> list[str]:
    """Event ids the same on every run, so a failing example replays exactly."""
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"sentinai-fuzz/{label}/{n}")) for n in range(count)]
