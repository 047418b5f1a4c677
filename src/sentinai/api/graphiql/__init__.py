"""SentinAI's own GraphiQL page and the files it loads, all served by this server (no CDN).

Off in production: `create_app` mounts `asset_routes` and the endpoint serves `page` only
outside production.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from sentinai.api.graphiql.assets import Manifest

MANIFEST = Manifest.packaged()
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
FOREVER = "public, max-age=31536000, immutable"  # the file names carry their package's version
# The page loads nothing from anywhere but this server, and sends its requests only here.
# GraphiQL sets inline styles and embeds its fonts as data: URLs; the page's own script is inline.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def _template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text()


def page(request: Request, assets_dir: Path) -> Response:
    """The GraphiQL page, or, when the files are not installed, a page saying how to install them."""
    missing = MANIFEST.missing(assets_dir)
    if missing:
        body = _template("not-installed.html").replace("<!--missing-->", html.escape(", ".join(missing)))
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})
    urls = [(name, request.url_for("graphiql_asset", name=name).path) for name in MANIFEST.file_names()]
    stylesheets = "\n".join(f'<link rel="stylesheet" href="{url}" />' for name, url in urls if name.endswith(".css"))
    scripts = "\n".join(f'<script src="{url}"></script>' for name, url in urls if name.endswith(".js"))
    body = _template("page.html").replace("<!--stylesheets-->", stylesheets).replace("<!--scripts-->", scripts)
    return HTMLResponse(body, headers={"Cache-Control": "no-store", "Content-Security-Policy": PAGE_POLICY})


def asset_routes(assets_dir: Path) -> list[Route]:
    """`/graphiql/assets/{name}`: the manifest's files and nothing else from `assets_dir`."""

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in set(MANIFEST.file_names()) or not (assets_dir / name).is_file():
            raise HTTPException(404, f"no GraphiQL asset {name!r}")
        headers = {"Cache-Control": FOREVER, "X-Content-Type-Options": "nosniff"}
        return FileResponse(assets_dir / name, headers=headers, media_type=MEDIA_TYPES[Path(name).suffix])

    return [Route("/graphiql/assets/{name}", asset, name="graphiql_asset")]
