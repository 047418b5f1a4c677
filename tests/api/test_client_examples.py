"""The client examples in docs/clients/ run against the server as written."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import ingest

pytestmark = pytest.mark.asyncio
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "clients" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_python_gql_example_reads_a_detail_and_records_a_comment(gql, api_a):
    example = _example("python_gql")
    await ingest(gql, api_a.operator, "GQL-1")
    app = gql.http._transport.app  # the in-process app the other tests use

    async with example.client(
        "http://sentinai.test/graphql", api_a.operator, transport=httpx.ASGITransport(app=app)
    ) as session:
        detail = await example.exception_detail(session, "GQL-1")
        recorded = await example.comment(session, "GQL-1", str(uuid.uuid4()), "checked with the counterparty")

    assert detail["exceptionId"] == "GQL-1" and detail["events"]["totalCount"] == 1
    assert recorded["replayed"] is False


async def test_the_possible_types_file_matches_the_schema():
    from sentinai.api.schema import possible_types, schema

    assert json.loads((DOCS / "possible-types.json").read_text()) == possible_types(schema)
