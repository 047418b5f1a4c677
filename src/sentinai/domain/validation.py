"""Input rules shared by every entry point. Field names are the API's (camelCase)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

from sentinai.errors import ValidationError

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
"""Every instant the API accepts lies in this range (in UTC): a day inside the calendar's ends,
so no time zone can carry it out of years 1-9999, and never PostgreSQL's ±infinity."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store this text, or None: a NUL, or a lone UTF-16 surrogate
    (JSON's `"\\ud800"` decodes to one; it is not a Unicode character and has no UTF-8 form)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    surrogate = _LONE_SURROGATE.search(value)
    if surrogate is not None:
        return f"must be valid Unicode text (it holds a lone surrogate, U+{ord(surrogate.group()):04X})"
    return None


def number_problem(value: float) -> str | None:
    """Why a float is not a JSON number, or None (NaN and ±Infinity are not)."""
    return None if math.isfinite(value) else "must be a finite number (NaN and Infinity are not JSON numbers)"


def json_value_problem(value: Any) -> tuple[str, str] | None:
    """The first (path, reason) inside a decoded JSON value that PostgreSQL could not store;
    the path is relative (`.key`, `[index]`), empty for the value itself."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        reason = None
        if isinstance(item, str):
            reason = text_problem(item)
        elif isinstance(item, float):
            reason = number_problem(item)
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                key_reason = text_problem(str(key))
                if key_reason is not None:
                    return f"{path}.{_printable(key)}", "keys " + key_reason
                pending.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item))))
        if reason is not None:
            return path, reason
    return None


def canonical_json(value: Any) -> Any:
    """A JSON value as PostgreSQL's jsonb keeps it: every number an exact decimal. jsonb stores
    `1e23` as the integer 10^23, which Python's float 1e23 is not equal to; compared in this form,
    what was sent and what was stored are equal exactly when jsonb kept the same value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):  # tagged: True == Decimal(1) in Python, not in JSON
        return ("number", Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    if isinstance(value, dict):
        return {key: canonical_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_json(item) for item in value]
    return value


def same_json(a: Any, b: Any) -> bool:
    return bool(canonical_json(a) == canonical_json(b))


def json_integer(digits: str) -> int | Decimal:
    """An integer as the API hands it out: beyond 64 bits JSON encoders balk, so a Decimal."""
    return int(digits) if len(digits) < 19 else Decimal(digits)


def stored_json(value: Any) -> Any:
    """A JSON value as it reads back from a jsonb column (`db.engine.decode_jsonb`), without the
    round trip: object keys in jsonb's order (shorter first, then bytewise), every number as the
    digits PostgreSQL prints (`1e23` → 100000000000000000000000, `1.50` stays 1.50, no -0).
    What a batch presents for a row it has not read back; tested against PostgreSQL itself."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        digits = format(number.copy_abs() if number.is_zero() else number, "f")
        return Decimal(digits) if "." in digits else json_integer(digits)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return {key: stored_json(value[key]) for key in keys}
    if isinstance(value, list):
        return [stored_json(item) for item in value]
    return value


def _printable(key: Any) -> str:
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


@overload
def text(field: str, value: str | None, *, max_length: int = 200, required: Literal[True] = True) -> str: ...


@overload
def text(field: str, value: str | None, *, max_length: int = 200, required: bool) -> str | None: ...


def text(field: str, value: str | None, *, max_length: int = 200, required: bool = True) -> str | None:
    """Strip surrounding space; refuse blank required values and over-long ones."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    stripped = value.strip()
    if not stripped:
        if required:
            raise ValidationError(field, "must not be blank")
        return None
    if len(stripped) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    problem = text_problem(stripped)
    if problem is not None:
        raise ValidationError(field, problem)
    return stripped


def identifier(field: str, value: str, *, max_length: int = 128) -> str:
    cleaned = text(field, value, max_length=max_length)
    assert cleaned is not None
    if not IDENTIFIER.match(cleaned):
        raise ValidationError(
            field, "may contain only letters, digits and _ . : / - and must start with a letter or digit"
        )
    return cleaned


def tenant_id(field: str, value: str) -> str:
    if not TENANT_ID.match(value or ""):
        raise ValidationError(field, "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def amount(field: str, value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        quantised = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(field, "must be a decimal number") from None
    if not quantised.is_finite() or abs(quantised) >= Decimal("1e16"):
        raise ValidationError(field, "must be a finite number below 10^16 with at most 2 decimals")
    return quantised


def json_object(field: str, value: Any) -> dict[str, Any]:
    """A JSON object of bounded size and depth (what jsonb columns accept from clients)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(field, "must be a JSON object")
    _check_depth(field, value, 1)
    problem = json_value_problem(value)
    if problem is not None:
        raise ValidationError(field + problem[0], problem[1])
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValidationError(field, f"must be at most {MAX_JSON_BYTES // 1024} KiB of JSON")
    return value


def _check_depth(field: str, value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(field, f"must not nest deeper than {MAX_JSON_DEPTH} levels")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _check_depth(field, child, depth + 1)


def unit_interval(field: str, value: float | Decimal) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite() or number < 0 or number > 1:
        raise ValidationError(field, "must be between 0 and 1")
    return number.quantize(Decimal("0.001"))


def aware(field: str, value: datetime | None) -> datetime | None:
    """A timestamp must carry its time zone (a naive one would be read in the server's zone)
    and lie between EARLIEST and LATEST. Returned in UTC, as it is stored and read back."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError(field, "must include a time zone offset, e.g. 2026-01-31T09:00:00Z")
    utc = in_range_utc(value)
    if utc is None:
        raise ValidationError(field, f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return utc


def future(field: str, value: datetime | None, now: datetime) -> datetime | None:
    """`aware`, and after `now` (an expiry in the past would make something dead on arrival)."""
    utc = aware(field, value)
    if utc is not None and utc <= now:
        raise ValidationError(field, f"must lie in the future (it is now {now.isoformat()})")
    return utc


def in_range_utc(value: datetime, latest: datetime = LATEST) -> datetime | None:
    """An aware instant in UTC, or None when it falls outside EARLIEST..latest."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # a zone that moves it past year 1 or 9999
        return None
    return utc if EARLIEST <= utc <= latest else None
