"""A receiver's URL often carries its credential (in the path or query): only ADMIN keys read it
whole, in the audit log and the change feed alike; other roles read its origin."""

from __future__ import annotations

import pytest

from tests.api.webhooks import register

pytestmark = pytest.mark.asyncio

AUDIT = '{ auditLog(filter: {component: "webhooks"}) { nodes { event details } } }'

FEED = "{ changes { nodes { source auditEntry { event details } } } }"

URL = "http://127.0.0.1:9/services/T000/B000/s3cr3t-t0ken"
"""On the discard port of this machine: nothing listens, so a round of another test sends nothing out."""


async def test_only_admins_read_a_receivers_whole_url_in_the_audit_log_and_the_change_feed(gql, api_a):
    await register(gql, api_a.admin, URL)

    for key, shown in ((api_a.admin, URL), (api_a.viewer, "http://127.0.0.1:9")):
        (entry,) = (await gql.data(AUDIT, key=key))["auditLog"]["nodes"]
        assert entry == {"event": "webhook.created", "details": {"url": shown}}
        audits = [n["auditEntry"] for n in (await gql.data(FEED, key=key))["changes"]["nodes"] if n["auditEntry"]]
        assert {"event": "webhook.created", "details": {"url": shown}} in audits
    for key in (api_a.operator, api_a.agent):
        assert "s3cr3t" not in str(await gql.data(AUDIT, key=key)) + str(await gql.data(FEED, key=key))
