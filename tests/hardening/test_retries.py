"""Idempotent writes survive a lost connection: the transaction is run again, once effective."""

import pytest
import sqlalchemy.exc

from sentinai.services import exceptions as service
from tests.api import documents as doc
from tests.api.helpers import exception_input

pytestmark = pytest.mark.asyncio


async def test_an_ingestion_whose_connection_drops_is_retried_and_stored_once(gql, api_a, monkeypatch):
    original, calls = service.ingest_exception, {"count": 0}

    async def flaky(uow, new, actor):
        calls["count"] += 1
        result = await original(uow, new, actor)
        if calls["count"] == 1:
            raise sqlalchemy.exc.DBAPIError("COMMIT", {}, ConnectionResetError("lost"), connection_invalidated=True)
        return result

    monkeypatch.setattr(service, "ingest_exception", flaky)
    result = (await gql.data(doc.INGEST, {"input": exception_input("EXC-FLAKY")}, key=api_a.operator))[
        "ingestException"
    ]
    assert (result["outcome"], calls["count"]) == ("CREATED", 2)
    detail = await gql.data(doc.DETAIL, {"id": "EXC-FLAKY"}, key=api_a.viewer)
    assert detail["exception"]["events"]["totalCount"] == 1


async def test_a_non_idempotent_mutation_is_not_retried(gql, api_a, monkeypatch):
    from sentinai.services import configuration

    calls = {"count": 0}

    async def failing(*args, **kwargs):
        calls["count"] += 1
        raise sqlalchemy.exc.DBAPIError("INSERT", {}, ConnectionResetError("lost"), connection_invalidated=True)

    monkeypatch.setattr(configuration, "create_playbook", failing)
    body = await gql.post(
        doc.CREATE_PLAYBOOK,
        {"input": {"name": "x", "steps": [{"name": "s", "actionType": "a"}]}},
        key=api_a.admin,
        status=503,
    )
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE" and calls["count"] == 1


async def test_a_keyed_mutation_whose_connection_drops_is_retried_and_done_once(gql, api_a, monkeypatch):
    from sentinai.services import configuration

    original, calls = configuration.create_playbook, {"count": 0}

    async def flaky(*args, **kwargs):
        calls["count"] += 1
        result = await original(*args, **kwargs)
        if calls["count"] == 1:
            raise sqlalchemy.exc.DBAPIError("INSERT", {}, ConnectionResetError("lost"), connection_invalidated=True)
        return result

    monkeypatch.setattr(configuration, "create_playbook", flaky)
    steps = [{"name": "s", "actionType": "a"}]
    variables = {"input": {"name": "flaky", "steps": steps, "idempotencyKey": "retry-1"}}
    result = (await gql.data(doc.CREATE_PLAYBOOK, variables, key=api_a.admin))["createPlaybook"]
    assert (result["playbook"]["version"], calls["count"]) == (1, 2)
