"""GraphQL over HTTP on the wire: media types, their negotiation, and error bodies.

Both media types of the GraphQL-over-HTTP specification are served. With
`application/graphql-response+json` a request error (the document does not parse or validate,
its variables do not coerce, no single operation can be chosen) is a 4xx and carries no `data`;
with the legacy `application/json` it is a 200, also without `data`. Every error the server
produces, from the transport up, is a JSON body `{"errors": [{"message", "extensions": {"code"}}]}`
in the negotiated media type (the codes are listed in docs/api.md).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.responses import Response

from sentinai import wire

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
MAX_BODY_BYTES = 1024 * 1024
"""The largest request: an HTTP body, and a WebSocket message alike (`api.view.TextFrames`, and
uvicorn's `ws_max_size` in `sentinai serve`)."""
MAX_DOCUMENT_CHARACTERS = 100_000
"""The longest GraphQL document (the query text, not its variables) any surface parses. graphql-core
lexes in Python, comments and whitespace included: a 1 MiB document held a process's event loop for
about 130 ms, and every other tenant waited behind it. 100,000 characters is a 12 ms parse, and many
times the largest document a client of this API sends (data travels in variables)."""
DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"


def document_too_large(characters: int) -> str:
    return (
        f"the GraphQL document is {characters} characters long; the most this API parses is "
        f"{MAX_DOCUMENT_CHARACTERS}: send data in variables"
    )


MEDIA_TYPE_KEY = "sentinai.media_type"
"""Where the negotiated media type is kept in the ASGI scope's state for the rest of the request."""

TRANSPORT_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither of ours (406).
    No Accept header, `*/*` and `application/*` get `application/json`, what every legacy client
    parses; a client naming `application/graphql-response+json` gets it."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, str] | None = None
    for part in accept.split(","):
        media, _, parameters = part.strip().partition(";")
        quality = _quality(parameters)
        media = media.strip().lower()
        chosen = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "*/*": JSON, "application/*": JSON}.get(media)
        if chosen is None or quality <= 0:
            continue
        preference = (quality, chosen == GRAPHQL_RESPONSE)  # on a tie the specification's own type wins
        if best is None or preference > (best[0], best[1] == GRAPHQL_RESPONSE):
            best = (quality, chosen)
    return best[1] if best else None


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    media_type: str = JSON,
    **extensions: Any,
) -> Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="sentinai"'}
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(wire.encode_json(body), status, headers, media_type=media_type)


def media_type_of(scope: MutableMapping[str, Any]) -> str:
    return str(scope.get("state", {}).get(MEDIA_TYPE_KEY, JSON))
