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
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import SplitResult, urlsplit, urlunsplit

import idna

from sentinai.errors import ValidationError

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60
"""How far a receiver should accept `webhook-timestamp` from its own clock (replay protection)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class WebhookPolicy:
    """The operator's settings for webhooks (`config.Settings`, docs/configuration.md)."""

    allow_private_targets: bool = False
    require_https: bool = True
    timeout_seconds: float = 10.0
    """A whole request, connection to last byte: a receiver dripping its answer is cut off too."""
    retry_base_seconds: float = 5.0
    retry_ceiling_seconds: float = 10 * 3600.0
    disable_after_seconds: float = 3 * 24 * 3600.0
    poll_seconds: float = 1.0
    concurrency: int = 8
    """Endpoint rounds one process runs at once, over all tenants."""
    concurrency_per_tenant: int = 2
    """Of those, how many one tenant's endpoints may hold."""
    round_seconds: float = 30.0
    """A round starts no request after this long; the endpoint queues again behind the others."""
    lease_margin_seconds: float = 5.0

    @property
    def lease_seconds(self) -> float:
        """How long a claim on an endpoint lasts. It is renewed after every message, so it only has
        to outlast one request (bounded by the timeout) and the statement recording it."""
        return self.timeout_seconds + self.lease_margin_seconds


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


_FORBIDDEN_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
"""Control characters (CR and LF first: they would split a header or a log line) and spaces.
`urlsplit` silently drops tab, CR and LF, so the check runs on the text as given."""

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def checked_url(url: str, *, allow_private: bool, require_https: bool) -> str:
    """A receiver's URL with its host normalised (`normalised_host`), refused when it is malformed or
    when a tenant could use it to reach our own network. Names are resolved by the caller
    (`services.webhook_targets`): this rule needs no I/O."""
    url = url.strip()
    if _FORBIDDEN_CHARACTERS.search(url):
        raise ValidationError("url", "must not contain control characters (such as CR or LF) or spaces")
    if len(url) > 2000:
        raise ValidationError("url", "must be at most 2000 characters")
    parts = _split(url)
    if require_https and parts.scheme != "https":
        raise ValidationError("url", "must use https")
    if parts.username or parts.password:
        raise ValidationError("url", "must not carry credentials; the signature authenticates us to you")
    host = normalised_host(parts.hostname or "")
    if not allow_private and is_private_host(host):
        raise ValidationError("url", "points at a private, loopback or link-local address")
    return urlunsplit((parts.scheme, _netloc(host, parts.port), parts.path or "/", parts.query, ""))


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise ValidationError("url", "must be an absolute http(s) URL with a valid host and port") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValidationError("url", "must be an absolute http(s) URL")
    return parts


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def normalised_host(host: str) -> str:
    """The host as a WHATWG URL parser (a browser, curl's, httpx's) reaches it: full-width and other
    compatibility forms mapped to ASCII (UTS 46), international names as `xn--` labels, and IPv4 in
    any of its spellings (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `0`) as a dotted quad.
    Checking the text as typed would let each of those reach an address the check refused."""
    if ":" in host:
        return str(_ip(host))
    name = _ascii(host).lower()
    address = ipv4_of(name)
    return str(address) if address is not None else name.rstrip(".")


def _ascii(host: str) -> str:
    if host.isascii():
        return host
    try:
        mapped = idna.uts46_remap(host, std3_rules=False)
        return mapped if mapped.isascii() else idna.encode(mapped).decode("ascii")
    except idna.IDNAError:
        raise ValidationError("url", "has a host name that is not a valid international name") from None


def _ip(host: str) -> IPAddress:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise ValidationError("url", "has a malformed IP address") from None


def ipv4_of(name: str) -> ipaddress.IPv4Address | None:
    """WHATWG's IPv4 parser: a host whose last label is a number must be an IPv4 address of up to
    four parts (decimal, `0x` hex or `0` octal; the last part fills the remaining bytes); any
    other host is a name (None)."""
    labels = name.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _numeric(labels[-1]):
        return None
    numbers = [_number(label) for label in labels]
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValidationError("url", "has a malformed IPv4 address")
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return ipaddress.IPv4Address(value)


def _numeric(label: str) -> bool:
    return label.isdigit() or (label[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in label[2:]))


def _number(label: str) -> int:
    try:
        if label[:2] in ("0x", "0X"):
            return int(label[2:] or "0", 16)
        return int(label, 8) if len(label) > 1 and label.startswith("0") else int(label, 10)
    except ValueError:
        raise ValidationError("url", "has a malformed IPv4 address") from None


def is_private_host(host: str) -> bool:
    """A normalised host naming our own machine or network: local names and literal addresses.
    Other names are resolved, and their addresses judged with `is_private_address`."""
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return is_private_address(address)


def is_private_address(address: IPAddress) -> bool:
    """Anything but a public unicast address, including IPv4 carried inside IPv6 (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_private_address(embedded):
            return True
    return not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified
