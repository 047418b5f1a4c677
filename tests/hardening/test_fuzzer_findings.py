"""What the fuzzers found: each failure, shrunk to the smallest request that shows it.

A bug still open is a strict xfail (`open_bug`) whose reason says where the server goes wrong,
with an entry in fuzzing.OPEN_SERVER_BUGS that keeps the fuzzers off it meanwhile; once fixed,
the marker and the entry come off and the test stays as a named regression. All five found so
far are fixed: JSON numbers of 4,301 digits and bodies that are not UTF-8 (HTTP 500 from the
body decoder), an Int literal of 4,301 digits (masked INTERNAL), a pack version past 32 bits in
a global id (INTERNAL from asyncpg) and a body over the size limit (a plain-text 413).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from sentinai.api.endpoint import MAX_BODY_BYTES
from tests.hardening.fuzzing import OPEN_SERVER_BUGS, encode, internal_errors, send

DIGITS = b"1" + b"0" * 4300
"""4,301 digits: Python converts at most 4,300 between text and int (CVE-2020-10735)."""
pytestmark = pytest.mark.asyncio
NODE = "query($id: ID!) { node(id: $id) { __typename } }"


def open_bug(reason: str) -> Callable[[Callable], Callable]:
    """An async test of a server bug still open: it fails today, and must fail for this reason."""
    xfail = pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
    return lambda test: pytest.mark.asyncio(xfail(test))


async def test_every_bug_the_fuzzers_skip_is_pinned_here():
    assert set(OPEN_SERVER_BUGS) <= set(globals())


async def test_a_json_number_of_more_than_4300_digits_is_a_client_error(gql, api_a):
    body = b'{"query": "{ viewer { role } }", "variables": {"n": ' + DIGITS + b"}}"

    _, answer = await send(gql, api_a.viewer, body)

    assert answer["errors"] and internal_errors(answer) == []


async def test_a_body_that_is_not_utf8_is_a_client_error(gql, api_a):
    body = b'{"query": "{ viewer { role } }", "variables": {"s": "\xff"}}'

    _, answer = await send(gql, api_a.viewer, body)

    assert answer["errors"] and internal_errors(answer) == []


async def test_an_int_literal_of_more_than_4300_digits_is_a_validation_error(gql, api_a):
    body = encode("{ exceptions(first: %s) { totalCount } }" % DIGITS.decode(), {})

    _, answer = await send(gql, api_a.viewer, body)

    assert answer["errors"] and internal_errors(answer) == []


@pytest.mark.parametrize("key", ["PolicyPack:2147483648", "DomainPack:Finance@2147483648"])
async def test_a_pack_global_id_past_32_bits_reads_as_not_found(gql, api_a, key):
    global_id = base64.b64encode(key.encode()).decode()

    _, answer = await send(gql, api_a.viewer, encode(NODE, {"id": global_id}))

    assert answer == {"data": {"node": None}, "extensions": answer.get("extensions")}


async def test_a_body_over_the_size_limit_is_refused_with_a_json_error(gql, api_a):
    body = encode("{ viewer { role } }", {"padding": "x" * MAX_BODY_BYTES})

    status, answer = await send(gql, api_a.viewer, body)

    assert status == 413
    assert answer["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
