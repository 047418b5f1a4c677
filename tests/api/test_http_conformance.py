"""GraphQL over HTTP, as the specification and the clients that follow it expect.

Both media types are served; a request error (nothing executed) has no `data` and is a 400
under `application/graphql-response+json`; every refusal, from the transport up, is a JSON
error with an `extensions.code` in the negotiated media type.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(gql, key: str, body, accept: str | None = GRAPHQL_RESPONSE, content_type="application/json"):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    if isinstance(body, dict):
        return await gql.http.post("/graphql", json=body, headers=headers)
    return await gql.http.post("/graphql", content=body, headers=headers)


def codes(response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_a_query_answers_in_the_media_type_the_client_asked_for(gql, api_a):
    for accept, media_type in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        ("application/json", "application/json"),
        (None, "application/json"),
        ("*/*", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
    ]:
        response = await post(gql, api_a.viewer, {"query": "{ viewer { role } }"}, accept)

        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type), accept
        assert response.json()["data"] == {"viewer": {"role": "VIEWER"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ viewer { role "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ viewer { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($n: Int!) { exceptions(first: $n) { totalCount } }", "variables": {"n": "x"}},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ({"query": "query A { viewer { role } } query B { viewer { role } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "query A { viewer { role } }", "operationName": "Nope"}, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_a_request_error_has_no_data_and_is_a_400_under_the_specifications_media_type(gql, api_a, body, code):
    strict = await post(gql, api_a.viewer, body, GRAPHQL_RESPONSE)
    legacy = await post(gql, api_a.viewer, body, "application/json")

    assert (strict.status_code, legacy.status_code) == (400, 200)
    assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    for response in (strict, legacy):
        assert "data" not in response.json()
        assert codes(response) == [code]


async def test_a_field_error_is_a_200_with_data_and_the_errors_path(gql, api_a):
    response = await post(gql, api_a.viewer, {"query": '{ viewer { role } exceptions(after: "nope") { totalCount } }'})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"viewer": {"role": "VIEWER"}, "exceptions": None}
    assert body["errors"][0]["path"] == ["exceptions"] and codes(response) == ["VALIDATION_FAILED"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "BAD_REQUEST"),
        (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
        (b'[{"query": "{ viewer { role } }"}]', "application/json", 400, "BAD_REQUEST"),
        (b"{ viewer { role } }", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
async def test_transport_errors_are_json_with_a_code(gql, api_a, body, content_type, status, code):
    response = await post(gql, api_a.viewer, body, GRAPHQL_RESPONSE, content_type)

    assert response.status_code == status
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert codes(response) == [code]


async def test_a_mutation_over_get_is_405_with_allow_post(gql, api_a):
    response = await gql.http.get(
        "/graphql",
        params={
            "query": 'mutation { revokeApiKey(input: {keyId: "00000000-0000-0000-0000-000000000000"}) { __typename } }'
        },
        headers={"Authorization": f"Bearer {api_a.admin}", "Accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert codes(response) == ["METHOD_NOT_ALLOWED"]


async def test_a_query_over_get_is_answered(gql, api_a):
    response = await gql.http.get(
        "/graphql", params={"query": "{ viewer { role } }"}, headers={"Authorization": f"Bearer {api_a.viewer}"}
    )

    assert response.status_code == 200 and response.json()["data"] == {"viewer": {"role": "VIEWER"}}


async def test_a_client_that_accepts_neither_json_type_gets_406(gql, api_a):
    response = await post(gql, api_a.viewer, {"query": "{ viewer { role } }"}, "text/html")

    assert response.status_code == 406 and codes(response) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (
            '{ exception(exceptionId: "X") { ' + "similar { exception { " * 6 + "id" + " } }" * 6 + " } }",
            "QUERY_TOO_DEEP",
        ),
        ("{ " + " ".join(f"a{n}: viewer {{ role }}" for n in range(31)) + " }", "TOO_MANY_ALIASES"),
    ],
)
async def test_limit_errors_carry_a_code(gql, api_a, query, code):
    response = await post(gql, api_a.viewer, {"query": query}, "application/json")

    assert code in codes(response)


async def test_authentication_errors_answer_in_the_negotiated_media_type(gql):
    response = await post(gql, "sk_nope", {"query": "{ viewer { role } }"}, GRAPHQL_RESPONSE)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert codes(response) == ["UNAUTHENTICATED"]


async def test_a_forbidden_field_is_null_and_the_rest_of_the_answer_stays(gql, api_a):
    body = await gql.post("{ viewer { role } apiKeys { keyId } }", key=api_a.viewer)

    assert body["data"] == {"viewer": {"role": "VIEWER"}, "apiKeys": None}
    assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [(["apiKeys"], "FORBIDDEN")]


async def test_a_role_refused_mutation_answers_the_forbidden_member_of_its_result(gql, api_a):
    from tests.api import documents as doc

    data = await gql.data(doc.CREATE_KEY, {"input": {"name": "x", "role": "VIEWER"}}, key=api_a.viewer)

    assert data["createApiKey"]["__typename"] == "Forbidden"
    assert data["createApiKey"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
async def test_a_subscription_over_http_is_a_request_error_pointing_at_the_websocket(gql, api_a, accept):
    body = {"query": 'subscription { exceptionEvents(exceptionId: "X") { position } }'}

    response = await post(gql, api_a.viewer, body, accept=accept)

    assert response.status_code == (400 if accept == GRAPHQL_RESPONSE else 200)
    assert codes(response) == ["WEBSOCKET_REQUIRED"] and "data" not in response.json()
    assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_a_subscription_over_get_is_refused_the_same_way(gql, api_a):
    query = 'subscription { exceptionEvents(exceptionId: "X") { position } }'
    headers = {"Authorization": f"Bearer {api_a.viewer}", "Accept": GRAPHQL_RESPONSE}

    response = await gql.http.get("/graphql", params={"query": query}, headers=headers)

    assert response.status_code == 400 and codes(response) == ["WEBSOCKET_REQUIRED"]
