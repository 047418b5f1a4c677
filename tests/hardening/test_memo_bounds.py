"""The pipeline's memos are bounded in bytes and per tenant (`api.memo`), and a document's size is
in its price: padding a document with comments can neither pin memory nor come for free."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from sentinai.api.http import MAX_DOCUMENT_CHARACTERS
from sentinai.api.memo import ByteMemo, MemoBounds
from sentinai.api.query_cost import FREE_TEXT_CHARACTERS
from sentinai.config import ConfigurationError, Settings
from tests.api.helpers import api_app, ingest, pipeline
from tests.conftest import ADMIN_TOKEN
from tests.graphql_client import GraphQLClient

MEMO_BYTES = 4 * 1024 * 1024
"""A tenant's share is 1 MiB, its largest entry 128 KiB: a padded document of 1 KiB is about 100 KiB parsed."""
DETAIL = "query($id: String!) { exception(exceptionId: $id) { exceptionId summary } }"


def padded(document: str, characters: int) -> str:
    """`document` made `characters` long with a comment of its own (a text no other test sends)."""
    tail = f"\n# {uuid.uuid4().hex} "
    return document + tail + "x" * max(0, characters - len(document) - len(tail))


@pytest_asyncio.fixture
async def small(runtime) -> AsyncIterator[tuple[GraphQLClient, dict[str, ByteMemo]]]:
    """An app whose memos hold 4 MiB each, a quarter of it per tenant."""
    app = api_app(runtime, memo_bytes=MEMO_BYTES, memo_tenant_share=0.25)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sentinai.test") as http:
        yield GraphQLClient(http, ADMIN_TOKEN), pipeline(app).memos


def test_a_memo_forgets_its_least_recently_used_entries_by_bytes_not_by_count():
    memo: ByteMemo[int, str] = ByteMemo("test", MemoBounds(8_000, 1.0))
    for n in range(10):
        memo.put(n, "v", 800, "a")
    memo.get(0)
    memo.put(10, "v", 800, "a")

    assert memo.bytes == 8_000 and len(memo) == 10
    assert memo.get(0) == "v" and memo.get(1) is None, "the least recently used went first"


def test_one_tenant_flooding_a_memo_pushes_out_only_its_own_entries():
    memo: ByteMemo[tuple[str, int], str] = ByteMemo("test", MemoBounds(8_000, 0.5))
    for n in range(3):
        memo.put(("b", n), "b's", 400, "tenant-b")
    for n in range(100):
        memo.put(("a", n), "a's", 400, "tenant-a")

    assert memo.owner_bytes("tenant-a") == 4_000, "half of the memo, no more"
    assert [memo.get(("b", n)) for n in range(3)] == ["b's"] * 3
    assert memo.get(("a", 99)) == "a's" and memo.get(("a", 0)) is None


def test_an_entry_too_big_to_be_worth_it_is_not_memoised():
    memo: ByteMemo[str, str] = ByteMemo("test", MemoBounds(8_000, 0.5))

    assert not memo.put("huge", "v", 501, "a"), "more than an eighth of a tenant's share"
    assert memo.put("fits", "v", 500, "a")
    assert memo.get("huge") is None and memo.bytes == 500


@pytest.mark.asyncio
async def test_padded_documents_from_one_tenant_stay_within_its_share_of_every_memo(small, api_a, api_b):
    client, memos = small
    await ingest(client, api_b.operator, "EXC-MEMO-B")
    kept = padded(DETAIL, 1_000)
    await client.data(kept, {"id": "EXC-MEMO-B"}, key=api_b.viewer)
    await client.data(kept, {"id": "EXC-MEMO-B"}, key=api_b.viewer)  # prepared, then answered at the endpoint

    for _ in range(60):  # each ~100 KiB parsed: six times a tenant's share of the documents' memo
        await client.data(padded(DETAIL, 1_000), {"id": "EXC-NONE"}, key=api_a.viewer)

    tenant_a, tenant_b = api_a.tenant_id, api_b.tenant_id
    share = MemoBounds(MEMO_BYTES, 0.25).tenant_bytes
    assert all(memo.owner_bytes(tenant_a) <= share for memo in memos.values()), {
        name: memo.owner_bytes(tenant_a) for name, memo in memos.items()
    }
    assert memos["documents"].owner_bytes(tenant_a) > share - 128 * 1024, "the flood filled its share"
    assert memos["documents"].get(kept) is not None, "the other tenant's entry stayed"
    assert memos["prepared_binding"].owner_bytes(tenant_b) > 0


@pytest.mark.asyncio
async def test_an_entry_one_tenant_stored_answers_another_with_its_own_rows(small, api_a, api_b):
    client, memos = small
    await ingest(client, api_a.operator, "EXC-MEMO-SHARED", summary="tenant a's")
    await ingest(client, api_b.operator, "EXC-MEMO-SHARED", summary="tenant b's")
    document = padded(DETAIL, 500)

    answers = [
        (await client.data(document, {"id": "EXC-MEMO-SHARED"}, key=key))["exception"]["summary"]
        for key in (api_a.viewer, api_a.viewer, api_b.viewer, api_b.viewer)
    ]

    assert answers == ["tenant a's", "tenant a's", "tenant b's", "tenant b's"]
    assert memos["prepared_binding"].owner_bytes(api_a.tenant_id) > 0
    assert memos["prepared_binding"].owner_bytes(api_b.tenant_id) == 0, "b used a's entry"


@pytest.mark.asyncio
async def test_a_document_too_big_to_memoise_is_answered_but_not_memoised(small, api_a):
    client, memos = small
    document = padded("{ viewer { role } }", 96 * 1024)  # 9.6 MiB parsed; its validation, 96 KiB

    assert (await client.data(document, key=api_a.viewer))["viewer"]["role"] == "VIEWER"
    assert memos["documents"].get(document) is None and memos["validations"].get(document) is not None


@pytest.mark.asyncio
async def test_a_documents_text_is_priced_past_its_first_four_kib(gql, api_a):
    query = "{ viewer { role } }"

    def cost(body: dict) -> int:
        return body["extensions"]["cost"]["requestedQueryCost"]

    short = cost(await gql.post(padded(query, FREE_TEXT_CHARACTERS), key=api_a.viewer))
    one_more = cost(await gql.post(padded(query, FREE_TEXT_CHARACTERS + 1), key=api_a.viewer))
    longest = cost(await gql.post(padded(query, MAX_DOCUMENT_CHARACTERS), key=api_a.viewer))

    assert (one_more - short, longest - short) == (1, 94)


def test_the_memos_bounds_are_settings_and_a_share_must_be_a_fraction():
    settings = Settings.from_env({"SENTINAI_MEMO_BYTES": "1048576", "SENTINAI_MEMO_TENANT_SHARE": "0.1"})

    assert (settings.memo_bytes, settings.memo_tenant_share) == (1_048_576, 0.1)
    assert (Settings().memo_bytes, Settings().memo_tenant_share) == (32 * 1024 * 1024, 0.25)
    for share in ("0", "1.5"):
        with pytest.raises(ConfigurationError, match="SENTINAI_MEMO_TENANT_SHARE"):
            Settings.from_env({"SENTINAI_MEMO_TENANT_SHARE": share})
