"""The one JSON encoder every surface writes values with (HTTP responses, WebSocket messages,
webhook bodies), so a value reads the same wherever a client meets it.

jsonb numbers come back from the database as `Decimal` (`db.engine.decode_jsonb`) holding the
digits PostgreSQL printed; they are written as those exact digits (`0.850` stays `0.850`, never
`0.85` or `"0.850"`). A caller that passes a bare `json.dumps` a jsonb value gets a TypeError
instead — which is how a webhook endpoint once stalled on every event with a `confidence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import orjson


@dataclass(frozen=True)
class RawJson:
    """JSON text encoded elsewhere (PostgreSQL rendered it), written into the output as it is."""

    json: str


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON; datetimes, UUIDs and enums as orjson writes them, Decimals exactly,
    and integers of any size exactly (a client may send one beyond 64 bits: up to the 4,300
    digits a JSON body may hold, all of which jsonb stores exactly)."""
    try:
        return orjson.dumps(value, default=_exact, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    except orjson.JSONEncodeError:
        widened = _wide_integers_as_decimals(value)
        if widened is value:
            raise
        return orjson.dumps(widened, default=_exact, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def _wide_integers_as_decimals(value: object) -> object:
    """`value` with every integer orjson cannot write as a Decimal (`value` itself if none)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return Decimal(value)
    if isinstance(value, dict):
        items = {key: _wide_integers_as_decimals(item) for key, item in value.items()}
        return items if any(items[key] is not value[key] for key in value) else value
    if isinstance(value, (list, tuple)):
        items_list = [_wide_integers_as_decimals(item) for item in value]
        return items_list if any(a is not b for a, b in zip(items_list, value, strict=True)) else value
    return value


def _exact(value: object) -> orjson.Fragment:
    if isinstance(value, RawJson):
        return orjson.Fragment(value.json)
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
