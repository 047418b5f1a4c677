"""Physical-limit baseline on SentinAI's schema: Starlette + asyncpg, one uvicorn worker.

    BENCH_PG_URI=postgresql://postgres:@/sentinai?host=... \
      .venv/bin/uvicorn baseline:app --app-dir bench/servers --port 5612 --no-access-log

Adapted from the shared anchors' servers/baseline.py to this project's schema: events are
ordered by (created_at, seq), playbooks are keyed (tenant_id, playbook_id) and steps hang off
(tenant_id, playbook_id). It connects as the schema owner (no RLS, no per-transaction role
switch) and filters by tenant explicitly.

POST /graphql takes a GraphQL client's JSON body, ignores the query text, dispatches on
operationName (W1/W2/W3) and answers with ONE hand-written SQL statement per request that
builds the whole response document in PostgreSQL (json_build_object / json_agg); the JSON text
goes out untouched. Shape: queries/baseline/*.graphql (the canonical shape of tools/normalize.py).
"""

import contextlib
import json
import os

import asyncpg
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

EXC = """'exceptionId', e.exception_id, 'domain', e.domain, 'type', e.type,
  'severity', e.severity, 'status', e.status, 'sourceSystem', e.source_system, 'entity', e.entity,
  'amount', e.amount::text, 'slaDeadline', e.sla_deadline, 'owner', e.owner, 'currentStep', e.current_step,
  'createdAt', e.created_at, 'updatedAt', e.updated_at"""
EV = """json_build_object('eventId', v.event_id, 'eventType', v.event_type, 'actorType', v.actor_type,
  'actorId', v.actor_id, 'payload', v.payload, 'createdAt', v.created_at)"""
PLAYBOOK = """(SELECT json_build_object('playbookId', p.playbook_id, 'name', p.name, 'version', p.version,
     'conditions', p.conditions,
     'steps', (SELECT coalesce(json_agg(json_build_object('stepId', s.step_id, 'stepOrder', s.step_order,
                 'name', s.name, 'actionType', s.action_type, 'params', s.params) ORDER BY s.step_order), '[]')
               FROM playbook_step s WHERE s.tenant_id = p.tenant_id AND s.playbook_id = p.playbook_id))
   FROM playbook p WHERE p.tenant_id = e.tenant_id AND p.playbook_id = e.current_playbook_id)"""

SQL = {
    # the tenant's 50 newest open exceptions, each with its 10 newest events and its playbook + steps
    "W1": f"""
SELECT json_build_object('data', json_build_object('exceptions', coalesce(json_agg(json_build_object({EXC},
  'events', (SELECT coalesce(json_agg({EV} ORDER BY v.created_at DESC, v.seq DESC), '[]')
             FROM (SELECT * FROM exception_event v
                   WHERE v.tenant_id = e.tenant_id AND v.exception_id = e.exception_id
                   ORDER BY v.created_at DESC, v.seq DESC LIMIT 10) v),
  'playbook', {PLAYBOOK}) ORDER BY e.created_at DESC, e.exception_id DESC), '[]')))::text
FROM (SELECT * FROM exception WHERE tenant_id = $1 AND status = 'open'
      ORDER BY created_at DESC, exception_id DESC LIMIT 50) e""",
    # one exception with its events (chronological, at most 100) and its playbook + steps
    "W2": f"""
SELECT json_build_object('data', json_build_object('exception', (
  SELECT json_build_object({EXC},
    'events', (SELECT coalesce(json_agg({EV} ORDER BY v.created_at, v.seq), '[]')
               FROM (SELECT * FROM exception_event v
                     WHERE v.tenant_id = e.tenant_id AND v.exception_id = e.exception_id
                     ORDER BY v.created_at, v.seq LIMIT 100) v),
    'playbook', {PLAYBOOK})
  FROM exception e WHERE e.tenant_id = $1 AND e.exception_id = $2)))::text""",
    # the tenant's exceptions counted by severity and status
    "W3": """
SELECT json_build_object('data', json_build_object('counts', coalesce(json_agg(
  json_build_object('severity', g.severity, 'status', g.status, 'count', g.n)
  ORDER BY g.severity, g.status), '[]')))::text
FROM (SELECT severity, status, count(*) AS n FROM exception WHERE tenant_id = $1 GROUP BY severity, status) g""",
}
ARGS = {"W1": ("tenantId",), "W2": ("tenantId", "exceptionId"), "W3": ("tenantId",)}

pool: asyncpg.Pool | None = None


async def _no_reset(con):
    # No per-release pool reset (asyncpg's default is one more round trip per request): the
    # baseline leaves no session state behind, so exactly one statement per request reaches PostgreSQL.
    return None


@contextlib.asynccontextmanager
async def lifespan(app):
    global pool
    size = int(os.environ.get("BENCH_POOL", "10"))
    pool = await asyncpg.create_pool(os.environ["BENCH_PG_URI"], min_size=size, max_size=size, reset=_no_reset)
    yield
    await pool.close()


async def graphql(request):
    body = json.loads(await request.body())
    op = body.get("operationName")
    if op not in SQL:
        return Response(
            b'{"errors":[{"message":"unknown operationName"}]}', status_code=400, media_type="application/json"
        )
    variables = body.get("variables") or {}
    async with pool.acquire() as con:
        text = await con.fetchval(SQL[op], *(variables[a] for a in ARGS[op]))
    return Response(text.encode(), media_type="application/json")


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
