"""Webhook rules that need no database: signatures, retry timing, target addresses.

Signatures follow the Standard Webhooks specification (standardwebhooks.com): the secret is
`whsec_` + base64 of the key bytes; a message is signed over `{webhook-id}.{webhook-timestamp}.{body}`
with HMAC-SHA256 and sent as `webhook-signature: v1,<base64 signature>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from sentinai.errors import ValidationError

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60
"""How far a receiver should accept `webhook-timestamp` from its own clock (replay protection)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """What a receiver runs (docs/live.md shows it standalone): the signature matches and the
    timestamp is recent. `headers` are the request's, with lower-case names."""
    try:
        message_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, message_id, timestamp, body).split(",", 1)[1]
    offered = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def retry_delay(failed_attempts: int, base: float, ceiling: float, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: base × 4^(n−1), at most `ceiling`, then ±20 %."""
    raw = min(ceiling, base * 4 ** max(0, failed_attempts - 1))
    return timedelta(seconds=raw * (rng or random).uniform(0.8, 1.2))


def checked_url(url: str, *, allow_private: bool, require_https: bool) -> str:
    """A receiver's URL, refused when a tenant could use it to reach our own network."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValidationError("url", "must be an absolute http(s) URL")
    if require_https and parts.scheme != "https":
        raise ValidationError("url", "must use https")
    if parts.username or parts.password:
        raise ValidationError("url", "must not carry credentials; the signature authenticates us to you")
    if len(url) > 2000:
        raise ValidationError("url", "must be at most 2000 characters")
    if not allow_private and is_private_host(parts.hostname):
        raise ValidationError("url", "points at a private, loopback or link-local address")
    return url


def is_private_host(host: str) -> bool:
    """Literal addresses and obvious local names; the dispatcher checks resolved addresses too."""
    if host.lower() in {"localhost", "localhost.localdomain"} or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global
