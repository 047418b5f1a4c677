"""The one JSON encoder every surface writes values with (HTTP responses, WebSocket messages,
webhook bodies), so a value reads the same wherever a client meets it.

jsonb numbers come back from the database as `Decimal` (`db.engine.decode_jsonb`) holding the
digits PostgreSQL printed; they are written as those exact digits (`0.850` stays `0.850`, never
`0.85` or `"0.850"`). A caller that passes a bare `json.dumps` a jsonb value gets a TypeError
instead — which is how a webhook endpoint once stalled on every event with a `confidence`.
"""

from __future__ import annotations

from decimal import Decimal

import orjson


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON; datetimes, UUIDs and enums as orjson writes them, Decimals exactly."""
    return orjson.dumps(value, default=_exact)


def _exact(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
