"""Generated cross-tenant probes: every query, mutation, node id, filter and cursor, with
natural keys colliding across tenants. Target: 0 foreign rows, 0 answers that tell another
tenant's object apart from a missing one."""

import asyncio
import base64
import re
import uuid

import pytest
from sqlalchemy import select

from sentinai.db import models
from sentinai.domain.actors import PLATFORM_ADMIN
from sentinai.seeding.bulk import SeedPlan, seed_bulk
from sentinai.services.configuration import create_api_key
from tests.api import documents as doc
from tests.conftest import _libpq

pytestmark = pytest.mark.asyncio

SHARED, B_ONLY = 100, 200  # A holds EXC-0000001..100; B holds the same ids and 100 more


def _gid(type_name: str, key: object) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def _tenant_with_keys(database, factory, count: int):
    prefix = f"p{uuid.uuid4().hex[:6]}"
    await seed_bulk(_libpq(database.owner_url), SeedPlan(1, count, 3, playbooks_per_tenant=3, prefix=prefix))
    tenant_id = f"{prefix}-001"
    async with factory.uow(tenant_id) as uow:
        keys = {role: (await create_api_key(uow, PLATFORM_ADMIN, role.value, role))[1] for role in models.ApiKeyRole}
        rows = {
            "exceptions": list((await uow.execute(select(models.ExceptionRecord))).scalars()),
            "events": list((await uow.execute(select(models.ExceptionEvent))).scalars()),
            "playbooks": list((await uow.execute(select(models.Playbook))).scalars()),
            "steps": list((await uow.execute(select(models.PlaybookStep))).scalars()),
        }
        await uow.commit()
    return tenant_id, keys, rows


def _same_shape(answer: dict, missing: dict, foreign_id: str, missing_id: str) -> bool:
    return re.sub(re.escape(foreign_id), "ID", str(answer)) == re.sub(re.escape(missing_id), "ID", str(missing))


async def test_two_thousand_cross_tenant_probes_find_nothing_of_the_other_tenant(database, factory, gql, capsys):
    a_id, a_keys, a_rows = await _tenant_with_keys(database, factory, SHARED)
    b_id, b_keys, b_rows = await _tenant_with_keys(database, factory, B_ONLY)
    viewer, operator, agent = (
        a_keys[models.ApiKeyRole.VIEWER],
        a_keys[models.ApiKeyRole.OPERATOR],
        a_keys[models.ApiKeyRole.AGENT],
    )
    a_exceptions = {row.exception_id: row for row in a_rows["exceptions"]}
    a_events = {str(row.event_id) for row in a_rows["events"]}
    b_only = [row for row in b_rows["exceptions"] if row.exception_id not in a_exceptions]
    probes, leaks, tells = 0, [], []

    async def probe(query, variables, key, check):
        nonlocal probes
        probes += 1
        body = await gql.post(query, variables, key=key)
        problem = check(body)
        if problem:
            leaks.append((query[:60], variables, problem))

    async def indistinguishable(query, make_variables, foreign_id, key, field):
        nonlocal probes
        probes += 2
        missing_id = f"NOPE-{uuid.uuid4().hex[:8]}"
        answer = (await gql.post(query, make_variables(foreign_id), key=key))["data"][field]
        missing = (await gql.post(query, make_variables(missing_id), key=key))["data"][field]
        if not _same_shape(answer, missing, foreign_id, missing_id):
            tells.append((field, answer, missing))

    def null_data(field):
        return lambda body: None if body["data"][field] is None else f"{field} returned {body['data'][field]}"

    def only_a(body):
        nodes = body["data"]["exceptions"]["nodes"]
        foreign = [
            n
            for n in nodes
            if n["exceptionId"] not in a_exceptions or n["summary"] != a_exceptions[n["exceptionId"]].summary
        ]
        return f"foreign rows {foreign}" if foreign else None

    tasks = []
    detail = "query($id: String!) { exception(exceptionId: $id) { summary events(first: 10) { nodes { eventId } } } }"
    for row in b_rows["exceptions"]:
        exception_id = row.exception_id
        if exception_id in a_exceptions:
            own = a_exceptions[exception_id]
            tasks.append(
                probe(
                    detail,
                    {"id": exception_id},
                    viewer,
                    lambda body, own=own: (
                        None
                        if (
                            body["data"]["exception"]["summary"] == own.summary
                            and {n["eventId"] for n in body["data"]["exception"]["events"]["nodes"]} <= a_events
                        )
                        else "merged"
                    ),
                )
            )
        else:
            tasks.append(probe(detail, {"id": exception_id}, viewer, null_data("exception")))
        tasks.append(
            probe(
                "query($id: ID!) { node(id: $id) { ... on Exception { summary } } }",
                {"id": _gid("Exception", exception_id)},
                viewer,
                lambda body, e=exception_id: (
                    None
                    if body["data"]["node"]
                    in (None, {"summary": a_exceptions[e].summary} if e in a_exceptions else None)
                    else "node"
                ),
            )
        )
        for field in ("entity", "owner", "sourceSystem"):
            value = getattr(row, {"sourceSystem": "source_system"}.get(field, field))
            if value is not None:
                tasks.append(
                    probe(
                        doc.LIST.replace("nodes { exceptionId", "nodes { summary exceptionId"),
                        {"filter": {field: value}, "first": 100},
                        viewer,
                        only_a,
                    )
                )
    for event in b_rows["events"][: 3 * B_ONLY]:
        if str(event.event_id) not in a_events:
            tasks.append(
                probe(
                    "query($id: ID!) { node(id: $id) { id } }",
                    {"id": _gid("ExceptionEvent", event.event_id)},
                    viewer,
                    null_data("node"),
                )
            )
    for playbook in b_rows["playbooks"]:
        tasks.append(
            probe(
                "query($id: ID!) { node(id: $id) { id } }",
                {"id": _gid("Playbook", playbook.playbook_id)},
                viewer,
                null_data("node"),
            )
        )
        tasks.append(
            probe(
                "query($id: Int) { playbook(playbookId: $id) { name } }",
                {"id": playbook.playbook_id},
                viewer,
                null_data("playbook"),
            )
        )
    for step in b_rows["steps"]:
        tasks.append(
            probe(
                "query($id: ID!) { node(id: $id) { id } }",
                {"id": _gid("PlaybookStep", step.step_id)},
                viewer,
                null_data("node"),
            )
        )
    b_page = (await gql.post(doc.LIST, {"first": 5}, key=b_keys[models.ApiKeyRole.VIEWER]))["data"]["exceptions"]
    for cursor in [edge["cursor"] for edge in b_page["edges"]]:
        tasks.append(
            probe(
                doc.LIST.replace("nodes { exceptionId", "nodes { summary exceptionId"),
                {"after": cursor, "first": 100},
                viewer,
                only_a,
            )
        )
    for start in range(0, len(tasks), 25):
        await asyncio.gather(*tasks[start : start + 25])

    mutations = [
        (
            doc.RECORD,
            lambda i: {
                "input": {
                    "eventId": str(uuid.uuid4()),
                    "exceptionId": i,
                    "eventType": "CommentAdded",
                    "payload": {"text": "probe"},
                }
            },
            agent,
            "recordExceptionEvent",
        ),
        (doc.CHANGE, lambda i: {"assign": {"exceptionId": i, "owner": "probe"}}, operator, "assignException"),
        (
            doc.TRANSITION,
            lambda i: {"input": {"exceptionId": i, "status": "ESCALATED"}},
            operator,
            "transitionException",
        ),
        (doc.ADVANCE, lambda i: {"input": {"exceptionId": i}}, operator, "advancePlaybookStep"),
        (
            doc.PROPOSE,
            lambda i: {
                "input": {"exceptionId": i, "rootCause": "x", "confidence": 0.5, "actionType": "y", "riskLevel": "LOW"}
            },
            agent,
            "proposeRemediationPlan",
        ),
        (
            doc.INGEST.replace("ingestException(input: $input)", "ingestException(input: $input)"),
            lambda i: {
                "input": {
                    "exceptionId": "probe-" + i,
                    "domain": "d",
                    "type": "t",
                    "severity": "LOW",
                    "sourceSystem": "s",
                    "entity": i,
                }
            },
            operator,
            None,
        ),
    ]
    for row in b_only:
        for query, make, key, field in mutations[:5]:
            await indistinguishable(query, make, row.exception_id, key, field)
    for playbook in b_rows["playbooks"]:
        attach = {"input": {"exceptionId": "EXC-0000001", "playbookId": playbook.playbook_id}}
        missing = {"input": {"exceptionId": "EXC-0000001", "playbookId": 900_000_000 + playbook.playbook_id}}
        answer = (await gql.post(doc.ATTACH, attach, key=operator))["data"]["attachPlaybook"]
        absent = (await gql.post(doc.ATTACH, missing, key=operator))["data"]["attachPlaybook"]
        probes += 2
        if not _same_shape(answer, absent, str(playbook.playbook_id), str(900_000_000 + playbook.playbook_id)):
            tells.append(("attachPlaybook", answer, absent))

    concurrent = []
    b_summaries = {row.exception_id: row.summary for row in b_rows["exceptions"]}
    for exception_id in list(a_exceptions)[:100]:
        b_viewer = b_keys[models.ApiKeyRole.VIEWER]
        for key, expected in ((viewer, a_exceptions[exception_id].summary), (b_viewer, b_summaries[exception_id])):
            concurrent.append((gql.post(detail, {"id": exception_id}, key=key), expected, exception_id))
    answers = []
    for start in range(0, len(concurrent), 40):  # within the admission limit: this is not an overload test
        answers += await asyncio.gather(*(call for call, *_ in concurrent[start : start + 40]))
    probes += len(answers)
    for body, (_, expected, exception_id) in zip(answers, concurrent):
        summary = body["data"]["exception"]["summary"]
        if summary != expected:
            leaks.append(("concurrent loaders", exception_id, summary))
    assert probes >= 2000
    assert leaks == [] and tells == []
    with capsys.disabled():
        print(f"\n  cross-tenant probes: {probes} requests, {len(leaks)} leaks, {len(tells)} distinguishable answers")
