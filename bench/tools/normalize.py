"""Map each system's GraphQL response onto one canonical shape, then compare.

Adapted from the shared anchors' tools/normalize.py. Canonical shape (queries/baseline/*.graphql;
GraphQL aliases give it to every server):
  W1: {"exceptions": [EXC, ...]}
  W2: {"exception": EXC | null}
  W3: {"counts": [{severity, status, count}, ...]}
  EXC = {exceptionId, domain, type, severity, status, sourceSystem, entity, amount, slaDeadline, owner,
         currentStep, createdAt, updatedAt,
         events: [{eventId, eventType, actorType, actorId, payload, createdAt}],
         playbook: null | {playbookId, name, version, conditions,
                           steps: [{stepId, stepOrder, name, actionType, params}]}}
Normalizers:
  canonical    -- already that shape after "data"; Relay wrappers {"nodes": [...]} / {"edges": [{"node"}]}
                  are unwrapped anywhere.
  sentinai     -- canonical + W3 from exceptionStats {key {severity status} count}.
  postgraphile -- canonical + W3 from @graphile/pg-aggregates groupedAggregates {keys, distinctCount{exceptionId}}.
"""

from datetime import datetime
from decimal import Decimal


def unwrap(x):
    if isinstance(x, dict):
        if set(x) == {"nodes"} and isinstance(x["nodes"], list):
            return [unwrap(v) for v in x["nodes"]]
        if set(x) == {"edges"} and isinstance(x["edges"], list):
            return [unwrap(e["node"]) for e in x["edges"]]
        return {k: unwrap(v) for k, v in x.items()}
    if isinstance(x, list):
        return [unwrap(v) for v in x]
    return x


def canonical(workload, resp):
    if resp.get("errors"):
        raise ValueError(f"GraphQL errors: {str(resp['errors'])[:300]}")
    return unwrap(resp["data"])


def sentinai(workload, resp):
    data = canonical(workload, resp)
    if workload == "w3":
        return {
            "counts": [
                {"severity": g["key"]["severity"], "status": g["key"]["status"], "count": g["count"]}
                for g in data["counts"]
            ]
        }
    return data


def postgraphile(workload, resp):
    data = canonical(workload, resp)
    if workload == "w3":
        groups = data["exceptions"]["groupedAggregates"]
        return {
            "counts": [
                {"severity": g["keys"][0], "status": g["keys"][1], "count": int(g["distinctCount"]["exceptionId"])}
                for g in groups
            ]
        }
    return data


NORMALIZERS = {"canonical": canonical, "sentinai": sentinai, "postgraphile": postgraphile}

ENUM_KEYS = {"severity", "status", "actorType"}
TIME_KEYS = {"createdAt", "updatedAt", "slaDeadline"}
INT_KEYS = {"count", "playbookId", "stepId", "stepOrder", "version", "currentStep"}  # PostGraphile: bigint as string


def _value(k, v):
    if v is None:
        return None
    if k in ENUM_KEYS:
        return str(v).lower()
    if k in TIME_KEYS:
        return datetime.fromisoformat(v).timestamp()
    if k == "amount":
        return str(Decimal(str(v)).normalize())
    if k in INT_KEYS:
        return int(v)
    return v


def deep(x, k=None):
    """Value-level canonical form: enum case, timestamp format, numeric-string format ironed out."""
    if isinstance(x, dict):
        return {kk: deep(vv, kk) for kk, vv in x.items()}
    if isinstance(x, list):
        return [deep(v, k) for v in x]
    return _value(k, x)


def _exc_sig(e):
    if e is None:
        return None
    pb = e.get("playbook")
    return (
        e["exceptionId"],
        len(e["events"]),
        tuple(v["eventId"] for v in e["events"]),
        None if pb is None else int(pb["playbookId"]),
        None if pb is None else len(pb["steps"]),
    )


def signature(workload, data):
    """The ids/counts that must match: exception ids (in order), event counts and ids, playbook id, step count."""
    if workload == "w1":
        return [_exc_sig(e) for e in data["exceptions"]]
    if workload == "w2":
        return _exc_sig(data["exception"])
    return sorted((c["severity"].lower(), c["status"].lower(), int(c["count"])) for c in data["counts"])
