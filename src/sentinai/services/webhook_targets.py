"""Where a webhook is sent: the receiver's name resolved once, judged, and connected to as judged.

A name is resolved by us, never by the HTTP client: the address that passed the private-network
check is the one connected to (with the URL's own `Host` header and, for https, its SNI and
certificate name), so a name answering a public address to the check and a private one to the
connection (DNS rebinding) reaches nothing. What a refusal records is the same for a name that
resolves to our network and for one that does not resolve: the delivery log is readable by the
tenant and must not tell it what our resolver answers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from sentinai.domain import webhooks as rules
from sentinai.errors import ValidationError

REFUSED = "target refused by policy (or not resolvable)"


class TargetRefused(Exception):
    """No address of the receiver may be used; the message is safe to show the tenant."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


@dataclass(frozen=True)
class Target:
    """A receiver's URL and the one address it is reached at, checked."""

    url: httpx.URL
    address: rules.IPAddress


async def resolve(host: str, port: int) -> list[rules.IPAddress]:
    """Every address `host` resolves to (tests replace this to play a resolver's answers)."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]) for *_, sockaddr in answers]


async def target_of(url: str, *, allow_private: bool) -> Target:
    """The address to connect to: a literal as written, or a name's first address once all of
    them are judged (one private address refuses the name: the resolver could answer it next)."""
    parsed = httpx.URL(url)
    host = _ascii_host(parsed)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = await resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        except OSError:
            raise TargetRefused() from None
    if not addresses or (not allow_private and any(rules.is_private_address(a) for a in addresses)):
        raise TargetRefused()
    return Target(parsed, addresses[0])


async def refuse_private_names(url: str, *, allow_private: bool) -> None:
    """At registration: a name must resolve, to public addresses only (when private targets are off)."""
    if allow_private:
        return
    try:
        await target_of(url, allow_private=False)
    except TargetRefused:
        raise ValidationError("url", "must resolve to public addresses only") from None


async def post(
    client: httpx.AsyncClient, target: Target, body: bytes, headers: dict[str, str], timeout: float
) -> httpx.Response:
    """POST to the checked address, naming the host as the URL does; the whole exchange (connect,
    send, wait, read) within `timeout`, so a receiver dripping its answer is cut off too."""
    pinned = target.url.copy_with(host=str(target.address))
    named = {**headers, "host": target.url.netloc.decode("ascii")}
    extensions = {"sni_hostname": _ascii_host(target.url)} if target.url.scheme == "https" else {}
    async with asyncio.timeout(timeout):
        return await client.post(pinned, content=body, headers=named, extensions=extensions)


def _ascii_host(url: httpx.URL) -> str:
    """The host as stored (`xn--` labels): `httpx.URL.host` decodes international names."""
    return url.raw_host.decode("ascii").strip("[]")
