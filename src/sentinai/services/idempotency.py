"""Idempotency keys: a mutation sent again with the same `idempotencyKey` answers its first result.

How a keyed mutation runs, in its own transaction (`run_keyed`):

1. expired keys of the scope are purged: the request's own key if expired, and at most
   `PURGE_BATCH` others, skipping rows others hold.
   Opportunistically, not by a periodic task: the purge runs under the scope's own role and
   row-level security (a task would need a role that crosses tenants, and a scheduler), and its
   work follows the scopes that use keys. A scope that stops sending keys keeps its last ones
   until it sends another: they are only digests, and an expired key is new again;
2. the key is claimed with `INSERT … ON CONFLICT DO NOTHING`. A concurrent request with the same
   key waits on the winner's uncommitted row; once the winner commits it finds the key taken,
   once the winner rolls back (an expected failure) it claims the key itself and runs;
3. the winner runs the mutation and stores what it answered in the same transaction, so there is
   never a key without its effect nor an effect without its key; a loser reads that result back
   and answers it as a `Replayed` value. The same key with another request (another mutation,
   input or caller: `request_digest`) is a Conflict.

What is stored, and why not the encoded payload: the result names the rows the mutation answered
(table and primary key) and the replay reads them again and builds the payload with the same
`present` function as the first answer. So the payload types stay the only place that knows the
wire format (no GraphQL here, none in the table), a replay can never drift from the live shape,
and nothing of a tenant's data is copied into a second table. A replay shows those rows as they are
now; while nothing else changed them (every retry of a lost answer) that is exactly the first
answer. The one value that lives in no row is a one-time secret (a new API key, a webhook's
signing secret): it is sealed under the idempotency key itself (HMAC-SHA256 in counter mode, with
a tag), so the database alone cannot open it, while the client retrying with its key gets it back.
Only digests of the key and of the request are kept.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect

from sentinai.errors import ConflictError, ValidationError
from sentinai.repositories.unit_of_work import UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 200
FIELD = "idempotencyKey"


@dataclass(frozen=True)
class Replayed(Generic[T]):
    """What an operation answers when it did nothing because the request had been done before."""

    value: T


@dataclass(frozen=True)
class KeyedRequest:
    key: str
    key_digest: bytes
    request_digest: bytes
    retention: timedelta


def keyed_request(operation: str, actor_id: str, input: Any, retention: timedelta) -> KeyedRequest | None:
    """The request `input` makes, keyed by its `idempotency_key`; None without a key. A key must
    be 1 to 200 printable characters (ValidationError naming `idempotencyKey`)."""
    key = getattr(input, "idempotency_key", None)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(FIELD, f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    request = json.dumps([operation, actor_id, _canonical(input)], sort_keys=True, separators=(",", ":"))
    return KeyedRequest(key, _digest(b"key", key), _digest(b"request", request), retention)


async def run_keyed(
    uow: UnitOfWork, request: KeyedRequest, operation: Callable[[UnitOfWork], Awaitable[T]]
) -> T | Replayed[T]:
    """Run `operation` once per key (see the module's docstring); a repeat answers `Replayed`."""
    await uow.idempotency.purge(request.retention, request.key_digest)
    if await uow.idempotency.claim(request.key_digest, request.request_digest):
        value = await operation(uow)
        done = value.value if isinstance(value, Replayed) else value
        await uow.idempotency.remember(request.key_digest, _encode(done, request.key))
        return value
    stored = await uow.idempotency.stored(request.key_digest)
    if stored is None or stored.request_digest != request.request_digest:
        raise ConflictError(f"{FIELD} was already used for a different request")
    return Replayed(await _decode(uow, stored.result, request.key))


def _digest(purpose: bytes, text: str) -> bytes:
    return hashlib.sha256(b"sentinai idempotency " + purpose + b"\0" + text.encode()).digest()


def _canonical(value: Any) -> Any:
    """The input as plain JSON, the key left out: equal inputs give equal text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (field.name for field in dataclasses.fields(value) if field.name != "idempotency_key")
        return {name: _canonical(getattr(value, name)) for name in fields}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(name): _canonical(item) for name, item in value.items()}
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _encode(value: Any, key: str) -> Any:
    """What a replay needs to rebuild `value`: rows by primary key, secrets sealed, tuples as lists."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, key) for item in value]}
    if isinstance(value, str):
        return {"sealed": _seal(value, key)}
    state = inspect(value)
    identity = [str(part) if isinstance(part, uuid.UUID) else part for part in state.identity]
    return {"row": state.mapper.local_table.name, "identity": identity}


async def _decode(uow: UnitOfWork, stored: Any, key: str) -> Any:
    if stored is None:
        return None
    if "tuple" in stored:
        return tuple([await _decode(uow, item, key) for item in stored["tuple"]])
    if "sealed" in stored:
        return _unseal(stored["sealed"], key)
    return await uow.idempotency.row(stored["row"], stored["identity"])


def _seal(secret: str, key: str) -> str:
    nonce, plain = os.urandom(16), secret.encode()
    box = _xor(plain, _stream(key, nonce, len(plain)))
    return base64.b64encode(nonce + box + _tag(key, nonce, box)).decode()


def _unseal(sealed: str, key: str) -> str:
    raw = base64.b64decode(sealed)
    nonce, box, tag = raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, _tag(key, nonce, box)):
        raise ValueError("a sealed idempotent result does not open with its key")
    return _xor(box, _stream(key, nonce, len(box))).decode()


def _seal_key(key: str) -> bytes:
    return _digest(b"seal", key)


def _stream(key: str, nonce: bytes, length: int) -> bytes:
    seal_key = _seal_key(key)
    blocks = (
        hmac.digest(seal_key, nonce + counter.to_bytes(4, "big"), "sha256") for counter in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def _tag(key: str, nonce: bytes, box: bytes) -> bytes:
    return hmac.digest(_seal_key(key), b"tag" + nonce + box, "sha256")[:16]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))
