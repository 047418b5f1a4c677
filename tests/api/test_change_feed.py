"""`changes(after:, first:)`: a tenant's committed changes, paged and resumable by position."""

from __future__ import annotations

import pytest

from tests.api import documents as doc
from tests.api.helpers import ingest, record

pytestmark = pytest.mark.asyncio

FEED = """
query Feed($after: String, $first: Int) {
  changes(after: $after, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { position source exceptionId event { eventType exceptionId } auditEntry { event } } }
  }
}"""


async def feed(gql, key: str, after: str | None = None, first: int = 100) -> dict:
    return (await gql.data(FEED, {"after": after, "first": first}, key=key))["changes"]


async def test_events_and_audit_entries_arrive_in_commit_order(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-F1")
    await record(gql, api_a.agent, "EXC-F1", "CommentAdded", {"text": "looking"})
    await gql.data(doc.PUBLISH_POLICY, {"input": {"pack": {"n": 1}}}, key=api_a.admin)

    page = await feed(gql, api_a.viewer)

    kinds = [(edge["node"]["source"], (edge["node"]["event"] or edge["node"]["auditEntry"])) for edge in page["edges"]]
    assert kinds[-3:] == [
        ("EXCEPTION_EVENT", {"eventType": "ExceptionCreated", "exceptionId": "EXC-F1"}),
        ("EXCEPTION_EVENT", {"eventType": "CommentAdded", "exceptionId": "EXC-F1"}),
        ("AUDIT_LOG", {"event": "policy_pack.published"}),
    ]
    positions = [edge["node"]["position"] for edge in page["edges"]]
    assert positions == list(range(1, len(positions) + 1))
    assert [edge["cursor"] for edge in page["edges"]] == [str(p) for p in positions]
    assert page["totalCount"] == positions[-1] and page["pageInfo"]["hasNextPage"] is False


async def test_a_consumer_resumes_from_its_cursor_missing_and_repeating_nothing(gql, api_a):
    start = (await feed(gql, api_a.viewer))["totalCount"]  # the keys' creation is audited
    await ingest(gql, api_a.operator, "EXC-F2")
    for n in range(5):
        await record(gql, api_a.agent, "EXC-F2", "CommentAdded", {"text": f"note {n}"})

    seen, cursor = [], str(start)
    while True:
        page = await feed(gql, api_a.viewer, cursor, first=2)
        seen += [edge["node"]["position"] for edge in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] or cursor
        if not page["pageInfo"]["hasNextPage"]:
            break
    await record(gql, api_a.agent, "EXC-F2", "CommentAdded", {"text": "later"})
    later = await feed(gql, api_a.viewer, cursor)

    assert seen == list(range(start + 1, start + 7))
    assert [edge["node"]["position"] for edge in later["edges"]] == [start + 7]


async def test_another_tenants_changes_never_appear_even_under_the_same_exception_id(gql, api_a, api_b):
    await ingest(gql, api_a.operator, "EXC-SAME")
    await ingest(gql, api_b.operator, "EXC-SAME")
    await record(gql, api_b.agent, "EXC-SAME", "CommentAdded", {"text": "b only"})

    page = await feed(gql, api_a.viewer)

    events = [edge["node"]["event"] for edge in page["edges"] if edge["node"]["event"]]
    assert events == [{"eventType": "ExceptionCreated", "exceptionId": "EXC-SAME"}]
    assert page["totalCount"] == len(page["edges"])


@pytest.mark.parametrize("cursor", ["-1", "abc", "1.5", "١", "99999999999999999999", ""])
async def test_a_cursor_that_is_not_a_position_is_a_validation_error(gql, api_a, cursor):
    errors = await gql.errors(FEED, {"after": cursor}, key=api_a.viewer)

    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert errors[0]["extensions"]["field"] == "after"
