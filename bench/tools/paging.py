"""Page 1 vs a deep page of our `exceptions` list (first: 20, keyset cursors).

Walks `after` cursors once from page 1 to page N (N = 1,000, or the tenant's last full page when it
has fewer than 20,000 exceptions: 250 at --scale 100000), then times page 1 and page N
alternately with one sequential client.
"""

from __future__ import annotations

import json
import time

from measure import Client, latency_stats

PAGE = """query Page($after: String) {
  exceptions(first: 20, after: $after) {
    nodes { exceptionId domain type severity status sourceSystem entity amount owner createdAt updatedAt }
    pageInfo { endCursor hasNextPage }
  }
}"""
PAGE_SIZE = 20


def _body(after: str | None) -> bytes:
    return json.dumps({"query": PAGE, "operationName": "Page", "variables": {"after": after}}).encode()


def run(url: str, key: str, tenant_size: int, target_page: int = 1000, n: int = 200) -> dict:
    page = min(target_page, tenant_size // PAGE_SIZE)
    client = Client(url, {"Authorization": f"Bearer {key}"})
    try:
        after, walk0 = None, time.perf_counter()
        for _ in range(page - 1):
            status, raw = client.post(_body(after))
            connection = json.loads(raw)["data"]["exceptions"]
            after = connection["pageInfo"]["endCursor"]
        walk = time.perf_counter() - walk0
        first_ids = _ids(client, None)
        deep_ids = _ids(client, after)
        lat = {"page1": [], "deep": []}
        for _ in range(n):
            for label, cursor in (("page1", None), ("deep", after)):
                body = _body(cursor)
                t0 = time.perf_counter()
                client.post(body)
                lat[label].append(time.perf_counter() - t0)
    finally:
        client.close()
    p1, deep = latency_stats(lat["page1"]), latency_stats(lat["deep"])
    return {
        "page": page,
        "page_size": PAGE_SIZE,
        "walk_seconds": round(walk, 2),
        "page1_first_id": first_ids[0],
        "deep_first_id": deep_ids[0] if deep_ids else None,
        "deep_rows": len(deep_ids),
        "page1_p50_ms": p1["p50_ms"],
        "page1_p99_ms": p1["p99_ms"],
        "deep_p50_ms": deep["p50_ms"],
        "deep_p99_ms": deep["p99_ms"],
        "ratio_p50": deep["p50_ms"] / p1["p50_ms"],
        "requests_each": n,
    }


def _ids(client: Client, after: str | None) -> list[str]:
    status, raw = client.post(_body(after))
    return [x["exceptionId"] for x in json.loads(raw)["data"]["exceptions"]["nodes"]]
