"""Retries do not duplicate: `idempotencyKey` on the mutations that create or decide (issue 21, item 1)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import select

from sentinai.db import models
from tests.api import documents as doc
from tests.api.helpers import ingest, propose
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio

PROPOSE_ANSWER = "... on RemediationPlanSuccess { replayed plan { planId status proposedBy } }"
PLAYBOOK = "mutation($input: CreatePlaybookInput!) { createPlaybook(input: $input) { __typename %s %s } }" % (
    "... on CreatePlaybookSuccess { replayed playbook { playbookId name version } }",
    doc.ERRORS,
)
DECIDE = "mutation($input: DecideRemediationPlanInput!) { %s(input: $input) { __typename %s %s } }"
DECISION = "... on RemediationPlanSuccess { replayed plan { planId status decidedBy decisionNote decidedAt } }"
CREATE_KEY = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename %s %s } }" % (
    "... on ApiKeySuccess { replayed secret apiKey { keyId name role } }",
    doc.ERRORS,
)
PLAYBOOKS = "query($name: String) { playbooks(name: $name) { totalCount } }"
PLANS = "query($id: String!) { exception(exceptionId: $id) { remediationPlans { planId } } }"


def _playbook(name: str, key: str | None = None) -> dict:
    return {"input": {"name": name, "steps": [{"name": "s", "actionType": "notify"}], "idempotencyKey": key}}


async def _propose(gql, key: str, exception_id: str, idempotency_key: str | None) -> dict:
    fields = {"exceptionId": exception_id, "rootCause": "stale SSI", "confidence": 0.8, "actionType": "reinstruct"}
    fields |= {"riskLevel": "MEDIUM", "idempotencyKey": idempotency_key}
    query = "mutation($input: ProposeRemediationPlanInput!) { proposeRemediationPlan(input: $input) { %s %s } }"
    return (await gql.data(query % (PROPOSE_ANSWER, doc.ERRORS), {"input": fields}, key=key))["proposeRemediationPlan"]


async def _decide(gql, key: str, plan_id: int, field: str = "approveRemediationPlan", **extra) -> dict:
    variables = {"input": {"planId": plan_id, "note": "ok", **extra}}
    return (await gql.data(DECIDE % (field, DECISION, doc.ERRORS), variables, key=key))[field]


async def test_a_proposal_sent_twice_with_one_key_creates_one_plan_and_answers_it_twice(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-TWICE")
    key = str(uuid.uuid4())
    first = await _propose(gql, api_a.agent, "EXC-TWICE", key)
    again = await _propose(gql, api_a.agent, "EXC-TWICE", key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["plan"] == first["plan"]
    plans = (await gql.data(PLANS, {"id": "EXC-TWICE"}, key=api_a.viewer))["exception"]["remediationPlans"]
    assert plans == [{"planId": first["plan"]["planId"]}]


async def test_a_proposal_sent_twice_without_a_key_still_creates_two_plans(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-NOKEY")
    first, again = [await _propose(gql, api_a.agent, "EXC-NOKEY", None) for _ in range(2)]
    assert first["plan"]["planId"] != again["plan"]["planId"] and not again["replayed"]


async def test_ten_concurrent_playbook_creations_with_one_key_make_one_version_and_ten_equal_answers(gql, api_a):
    key = str(uuid.uuid4())
    sent = [gql.data(PLAYBOOK, _playbook("concurrent", key), key=api_a.admin) for _ in range(10)]
    answers = [data["createPlaybook"] for data in await asyncio.gather(*sent)]
    assert sorted(answer.pop("replayed") for answer in answers) == [False] + [True] * 9
    assert all(answer == answers[0] for answer in answers) and answers[0]["playbook"]["version"] == 1
    assert (await gql.data(PLAYBOOKS, {"name": "concurrent"}, key=api_a.viewer))["playbooks"]["totalCount"] == 1


async def test_a_key_sent_again_with_another_input_is_a_conflict_and_changes_nothing(gql, api_a):
    key = str(uuid.uuid4())
    await gql.data(PLAYBOOK, _playbook("first-name", key), key=api_a.admin)
    other = (await gql.data(PLAYBOOK, _playbook("other-name", key), key=api_a.admin))["createPlaybook"]
    assert (other["__typename"], other["code"]) == ("Conflict", "CONFLICT")
    assert (await gql.data(PLAYBOOKS, {"name": "other-name"}, key=api_a.viewer))["playbooks"]["totalCount"] == 0


async def test_a_key_used_by_another_mutation_or_caller_is_a_conflict(gql, api_a):
    key = str(uuid.uuid4())
    await ingest(gql, api_a.operator, "EXC-OTHER")
    await _propose(gql, api_a.agent, "EXC-OTHER", key)
    by_operator = await _propose(gql, api_a.operator, "EXC-OTHER", key)
    assert by_operator["code"] == "CONFLICT"
    playbook = (await gql.data(PLAYBOOK, _playbook("keyed", key), key=api_a.admin))["createPlaybook"]
    assert playbook["code"] == "CONFLICT"


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there", "line\nbreak"])
async def test_an_unusable_key_is_refused_naming_the_field(gql, api_a, key):
    answer = (await gql.data(PLAYBOOK, _playbook("badkey", key), key=api_a.admin))["createPlaybook"]
    assert (answer["__typename"], answer["field"]) == ("ValidationFailed", "idempotencyKey")


async def test_an_approval_retried_after_its_answer_was_lost_answers_the_original_decision(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-LOST")
    plan_id = (await propose(gql, api_a.agent, "EXC-LOST"))["plan"]["planId"]
    first = await _decide(gql, api_a.operator, plan_id)
    retried = await _decide(gql, api_a.operator, plan_id, note="said again")
    assert (first["replayed"], retried["replayed"]) == (False, True)
    assert retried["plan"] == first["plan"] and first["plan"]["status"] == "APPROVED"
    rejected = await _decide(gql, api_a.operator, plan_id, "rejectRemediationPlan")
    assert rejected["code"] == "INVALID_TRANSITION"
    by_another = await _decide(gql, api_a.admin, plan_id)
    assert by_another["code"] == "INVALID_TRANSITION"


async def test_a_keyed_approval_retried_concurrently_decides_once(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-KEYED-DECISION")
    plan_id = (await propose(gql, api_a.agent, "EXC-KEYED-DECISION"))["plan"]["planId"]
    key = str(uuid.uuid4())
    answers = await asyncio.gather(*[_decide(gql, api_a.operator, plan_id, idempotencyKey=key) for _ in range(5)])
    assert sorted(answer.pop("replayed") for answer in answers) == [False] + [True] * 4
    assert all(answer == answers[0] for answer in answers)


async def test_concurrent_approvals_by_one_caller_without_a_key_decide_once(gql, api_a):
    await ingest(gql, api_a.operator, "EXC-NATURAL")
    plan_id = (await propose(gql, api_a.agent, "EXC-NATURAL"))["plan"]["planId"]
    answers = await asyncio.gather(*[_decide(gql, api_a.operator, plan_id) for _ in range(5)])
    assert sorted(answer.pop("replayed") for answer in answers) == [False] + [True] * 4
    assert all(answer == answers[0] for answer in answers)
    decided = "query($id: String!) { exception(exceptionId: $id) { events(first: 50) { nodes { eventType } } } }"
    events = (await gql.data(decided, {"id": "EXC-NATURAL"}, key=api_a.viewer))["exception"]["events"]["nodes"]
    assert [event["eventType"] for event in events].count("RemediationPlanDecided") == 1


async def test_a_replayed_api_key_creation_answers_the_same_secret_which_is_stored_nowhere_in_clear(
    gql, api_a, database
):
    key = str(uuid.uuid4())
    variables = {"input": {"name": "retried", "role": "VIEWER", "idempotencyKey": key}}
    first, again = [(await gql.data(CREATE_KEY, variables, key=api_a.admin))["createApiKey"] for _ in range(2)]
    assert again == {**first, "replayed": True} and first["secret"]
    stored = await _owner_fetch(
        database, "SELECT result::text AS result FROM idempotency_key WHERE tenant_id = $1", api_a.tenant_id
    )
    texts = [row["result"] for row in stored if row["result"]]
    assert texts and all(first["secret"] not in text and key not in text for text in texts)


async def test_one_tenants_key_never_answers_for_another_tenant(gql, api_a, api_b, factory):
    key = str(uuid.uuid4())
    in_a = (await gql.data(PLAYBOOK, _playbook("shared-name", key), key=api_a.admin))["createPlaybook"]
    in_b = (await gql.data(PLAYBOOK, _playbook("shared-name", key), key=api_b.admin))["createPlaybook"]
    assert (in_a["replayed"], in_b["replayed"]) == (False, False)
    assert in_a["playbook"]["playbookId"] != in_b["playbook"]["playbookId"]
    again_in_b = (await gql.data(PLAYBOOK, _playbook("shared-name", key), key=api_b.admin))["createPlaybook"]
    assert again_in_b == {**in_b, "replayed": True}
    async with factory.uow(api_b.tenant_id) as uow:  # row-level security beneath the scoped statements
        scopes = set((await uow.execute(select(models.IdempotencyKey.tenant_id))).scalars())
    assert scopes == {api_b.tenant_id}


async def test_keys_older_than_the_retention_are_purged_and_then_run_again(gql, api_a, database):
    key = str(uuid.uuid4())
    first = (await gql.data(PLAYBOOK, _playbook("aged", key), key=api_a.admin))["createPlaybook"]
    aged = "UPDATE idempotency_key SET created_at = now() - interval '25 hours' WHERE tenant_id = $1 RETURNING 1"
    assert len(await _owner_fetch(database, aged, api_a.tenant_id)) == 1
    await gql.data(PLAYBOOK, _playbook("unrelated", str(uuid.uuid4())), key=api_a.admin)  # purges on its claim
    expired = "SELECT 1 FROM idempotency_key WHERE tenant_id = $1 AND created_at < now() - interval '24 hours'"
    assert await _owner_fetch(database, expired, api_a.tenant_id) == []
    after = (await gql.data(PLAYBOOK, _playbook("aged", key), key=api_a.admin))["createPlaybook"]
    assert (after["replayed"], after["playbook"]["version"]) == (False, first["playbook"]["version"] + 1)


async def test_an_expired_key_sent_again_is_new_however_many_other_keys_wait_to_be_purged(
    gql, api_a, database, monkeypatch
):
    from sentinai.repositories import idempotency

    monkeypatch.setattr(idempotency, "PURGE_BATCH", 1)
    keys = [str(uuid.uuid4()) for _ in range(3)]
    for number, key in enumerate(keys):
        await gql.data(PLAYBOOK, _playbook(f"many-{number}", key), key=api_a.admin)
    aged = "UPDATE idempotency_key SET created_at = created_at - interval '25 hours' WHERE tenant_id = $1 RETURNING 1"
    assert len(await _owner_fetch(database, aged, api_a.tenant_id)) == 3  # keys[2] is the newest: purged last
    last = (await gql.data(PLAYBOOK, _playbook("many-2", keys[2]), key=api_a.admin))["createPlaybook"]
    assert (last["replayed"], last["playbook"]["version"]) == (False, 2)
    expired = "SELECT 1 FROM idempotency_key WHERE tenant_id = $1 AND created_at < now() - interval '24 hours'"
    assert len(await _owner_fetch(database, expired, api_a.tenant_id)) == 1  # one purged as the batch, one as its own


async def _owner_fetch(database, query: str, *args) -> list:
    owner = await asyncpg.connect(_libpq(database.owner_url))
    try:
        return await owner.fetch(query, *args)
    finally:
        await owner.close()
