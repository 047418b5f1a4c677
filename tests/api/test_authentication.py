"""Who may call what: credentials, roles, and the tenant guard."""

import pytest

from tests.api import documents as doc
from tests.api.helpers import exception_input

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Basic abc", "Bearer sk_not-a-real-key", "Bearer wrong-admin-token"]
)
async def test_requests_without_a_valid_credential_get_401_and_no_data(gql, header):
    response = await gql.http.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"Authorization": header} if header else {}
    )
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_graphiql_page_loads_without_a_credential(gql):
    response = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


async def test_health_and_readiness(gql):
    assert (await gql.http.get("/healthz")).json() == {"status": "ok"}
    ready = await gql.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_a_viewer_reads_but_cannot_write(gql, api_a):
    refused = await gql.data(doc.INGEST, {"input": exception_input("EXC-V")}, key=api_a.viewer)
    assert refused["ingestException"]["__typename"] == "Forbidden"
    assert (await gql.data('{ exception(exceptionId: "EXC-V") { exceptionId } }', key=api_a.viewer))[
        "exception"
    ] is None


@pytest.mark.parametrize("role", ["viewer", "operator", "agent"])
async def test_only_a_tenant_admin_changes_configuration(gql, api_a, role):
    refused = await gql.data(doc.CREATE_KEY, {"input": {"name": "x", "role": "ADMIN"}}, key=getattr(api_a, role))
    assert refused["createApiKey"]["__typename"] == "Forbidden"


async def test_the_platform_admin_has_no_tenant_data(gql):
    errors = await gql.errors("{ exceptions { totalCount } }", key=gql.admin_token)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    viewer = await gql.data("{ viewer { role tenant { tenantId } } }", key=gql.admin_token)
    assert viewer["viewer"] == {"role": "PLATFORM_ADMIN", "tenant": None}


async def test_an_oversized_body_is_refused_before_parsing(gql, api_a):
    response = await gql.http.post(
        "/graphql",
        content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"Authorization": f"Bearer {api_a.viewer}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_unexpected_errors_are_masked_with_an_error_id(gql, api_a, monkeypatch, caplog):
    from sentinai.repositories.documents import DocumentRepository
    from sentinai.repositories.exceptions import ExceptionRepository

    async def broken(self, *args, **kwargs):
        raise RuntimeError("password=hunter2 host=db.internal relation exception")

    monkeypatch.setattr(ExceptionRepository, "list", broken)  # the field-by-field path
    monkeypatch.setattr(DocumentRepository, "render", broken)  # the one-statement path
    errors = await gql.errors("{ exceptions { totalCount } }", key=api_a.viewer)
    assert "hunter2" not in str(errors) and "db.internal" not in str(errors)
    error_id = errors[0]["extensions"]["errorId"]
    assert error_id in errors[0]["message"]
    assert any(error_id in record.getMessage() for record in caplog.records)
