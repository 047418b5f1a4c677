"""The Operations Center console: this project's own static page, served at `/console`.

The page talks to `/graphql` exactly as any other frontend would (HTTP for reads and writes,
graphql-transport-ws for live updates). Nothing here touches the database.

Only the files in this package directory whose suffix is listed in `MEDIA_TYPES` are served; the
policy allows no inline script or style and no origin but this server's.
"""

from __future__ import annotations

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
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Unversioned names: the browser asks again each time and gets a 304 while unchanged (ETag).
    "Cache-Control": "no-cache",
}


def served_files() -> dict[str, Path]:
    """The page's own files by name: what `/console/{name}` serves and the page weight counts."""
    return {path.name: path for path in sorted(HERE.iterdir()) if path.suffix in MEDIA_TYPES}


def routes() -> list[Route]:
    """`/console` (the page) and `/console/{name}` (its scripts and styles)."""
    files = served_files()

    def respond(path: Path) -> Response:
        return FileResponse(path, headers=HEADERS, media_type=MEDIA_TYPES[path.suffix])

    async def page(request: Request) -> Response:
        return respond(files["index.html"])

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files or name == "index.html":
            raise HTTPException(404, f"no console file {name!r}")
        return respond(files[name])

    return [Route("/console", page), Route("/console/{name}", asset, name="console_file")]
