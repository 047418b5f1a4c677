"""Relay ids are globally unique: two tenants' objects never share one, so a client cache shared
by two keys (a console that switches tenant) never merges them."""

from __future__ import annotations

import base64

import pytest

from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio

NODE = "query($id: ID!) { node(id: $id) { id ... on Exception { exceptionId } } }"
IDS = '{ exception(exceptionId: "SAME-1") { id events { nodes { id } } } exceptions { nodes { id } } }'


def decoded(global_id: str) -> str:
    return base64.b64decode(global_id).decode()


async def test_the_same_exception_id_in_two_tenants_has_two_global_ids_on_both_read_paths(
    gql, resolvers_only, api_a, api_b
):
    await ingest(gql, api_a.operator, "SAME-1")
    await ingest(gql, api_b.operator, "SAME-1")

    planned_a = await gql.data(IDS, key=api_a.viewer)
    resolved_a = await resolvers_only.data(IDS, key=api_a.viewer)
    planned_b = await gql.data(IDS, key=api_b.viewer)

    assert planned_a == resolved_a
    assert decoded(planned_a["exception"]["id"]) == f"Exception:{api_a.tenant_id}:SAME-1"
    assert planned_a["exception"]["id"] != planned_b["exception"]["id"]
    event_a = planned_a["exception"]["events"]["nodes"][0]["id"]
    assert decoded(event_a).startswith(f"ExceptionEvent:{api_a.tenant_id}:")


async def test_another_tenants_id_reads_as_not_found(gql, api_a, api_b):
    await ingest(gql, api_a.operator, "SAME-2")
    await ingest(gql, api_b.operator, "SAME-2")
    id_in_a = (await gql.data('{ exception(exceptionId: "SAME-2") { id } }', key=api_a.viewer))["exception"]["id"]

    assert (await gql.data(NODE, {"id": id_in_a}, key=api_a.viewer))["node"]["exceptionId"] == "SAME-2"
    assert (await gql.data(NODE, {"id": id_in_a}, key=api_b.viewer))["node"] is None


async def test_an_id_issued_before_tenants_were_named_is_still_read_in_the_callers_tenant(gql, api_a):
    await ingest(gql, api_a.operator, "OLD-1")
    old = base64.b64encode(b"Exception:OLD-1").decode()

    found = (await gql.data(NODE, {"id": old}, key=api_a.viewer))["node"]

    assert found["exceptionId"] == "OLD-1"
    assert decoded(found["id"]) == f"Exception:{api_a.tenant_id}:OLD-1"
