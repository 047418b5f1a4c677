"""A revoked key or a suspended tenant stops working in every process within a second, not after
each process's key cache expires: the revocation is announced with NOTIFY at commit."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from sentinai.auth import Authenticator
from sentinai.errors import AuthenticationError
from tests.api import documents as doc

pytestmark = pytest.mark.asyncio


async def test_a_revocation_reaches_another_process_that_cached_the_key_within_a_second(gql, runtime, api_a):
    from sentinai.api.app import Runtime

    settings = replace(runtime.settings, auth_cache_seconds=600.0)  # trusts its cache for ten minutes
    elsewhere = Runtime(
        settings, runtime.engine, runtime.session_factory, Authenticator(runtime.session_factory, None, 600.0)
    )
    elsewhere.notifier.keep_listening()
    try:
        await asyncio.wait_for(elsewhere.notifier.listening.wait(), 5)
        made = (await gql.data(doc.CREATE_KEY, {"input": {"name": "temp", "role": "VIEWER"}}, key=api_a.admin))[
            "createApiKey"
        ]
        bearer = f"Bearer {made['secret']}"
        await elsewhere.authenticator.authenticate(bearer)  # now cached there

        await gql.data(doc.REVOKE_KEY, {"input": {"keyId": made["apiKey"]["keyId"]}}, key=api_a.admin)
        revoked_at = time.monotonic()
        while True:
            try:
                await elsewhere.authenticator.authenticate(bearer)
            except AuthenticationError:
                break
            assert time.monotonic() - revoked_at < 1.0, "still accepted a second after the revocation"
            await asyncio.sleep(0.02)
    finally:
        await elsewhere.notifier.stop()
