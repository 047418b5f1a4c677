"""The Operations Center console: this project's own static page, served at `/console`.

The page talks to `/graphql` exactly as any other frontend would (HTTP for reads and writes,
graphql-transport-ws for live updates). Nothing here touches the database.

Only the files in this package directory whose suffix is listed in `MEDIA_TYPES` are served; the
policy allows no inline script or style and no origin but this server's: WebSockets only to the
host the page was requested from (`policy`).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
POLICY = (
    "default-src 'self'; connect-src {connect}; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A CSP host-source: DNS labels or an IPv4 address (CSP has no syntax for IPv6 literals), and a port.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN_HOST = re.compile(rf"(?:{_LABEL})(?:\.{_LABEL})*(?::(?P<port>[0-9]{{1,5}}))?")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Unversioned names: the browser asks again each time and gets a 304 while unchanged (ETag).
    "Cache-Control": "no-cache",
}


def policy(host: str | None) -> str:
    """The page's Content-Security-Policy for a request that named `host` (its Host header).

    `connect-src` allows `'self'` and WebSockets to that exact host and port only (ws: and wss:,
    since behind a TLS proxy the server may not know which one the browser uses). The header is
    the client's to choose, so it enters the policy only when it is a plain `name[:port]`; anything
    else (a list, a wildcard, a path, an IPv6 literal, a `;` that would start a directive) leaves
    `'self'` alone, which CSP3 browsers already extend to the page's own ws(s) origin.
    """
    match = PLAIN_HOST.fullmatch(host or "")
    if not match or len(host or "") > 253 or int(match["port"] or 0) > 65535:
        return POLICY.format(connect="'self'")
    return POLICY.format(connect=f"'self' ws://{host} wss://{host}")


def served_files() -> dict[str, Path]:
    """The page's own files by name: what `/console/{name}` serves and the page weight counts."""
    return {path.name: path for path in sorted(HERE.iterdir()) if path.suffix in MEDIA_TYPES}


def routes() -> list[Route]:
    """`/console` (the page) and `/console/{name}` (its scripts and styles)."""
    files = served_files()

    def respond(request: Request, path: Path) -> Response:
        headers = {"Content-Security-Policy": policy(request.headers.get("host")), **HEADERS}
        return FileResponse(path, headers=headers, media_type=MEDIA_TYPES[path.suffix])

    async def page(request: Request) -> Response:
        return respond(request, files["index.html"])

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files or name == "index.html":
            raise HTTPException(404, f"no console file {name!r}")
        return respond(request, files[name])

    return [Route("/console", page), Route("/console/{name}", asset, name="console_file")]
