"""Input rules shared by every entry point. Field names are the API's (camelCase)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sentinai.errors import ValidationError

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16


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
    if "\x00" in stripped:
        raise ValidationError(field, "must not contain NUL characters")
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
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValidationError(field, f"must be at most {MAX_JSON_BYTES // 1024} KiB of JSON")
    if "\\u0000" in json.dumps(value):
        raise ValidationError(field, "must not contain NUL characters")
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
    """A timestamp must carry its time zone: a naive one would be read in the server's zone."""
    if value is not None and value.tzinfo is None:
        raise ValidationError(field, "must include a time zone offset, e.g. 2026-01-31T09:00:00Z")
    return value
