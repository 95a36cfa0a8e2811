"""The load suite: `manage.py serve` on PostgreSQL + RabbitMQ under bounded, loopback load.

- 500 synchronous product creations sent at once (500 connections opened together);
- 50 asynchronous bulks of 1,000 products each, sent at once.

No answer may be a 5xx, no request may be lost (every product there once, every
operation recorded and its message on the queue), and the latency percentiles are
printed (`pytest -s tests/test_suite_load.py`; docs/RELIABILITY.md has the figures).
The seed's Magento answered 50x errors past 134 simultaneous requests.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.fixtures.faults import FaultSite

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("load")]


@pytest.fixture(scope="module")
def site(postgresql_tests: None, fault_site: FaultSite) -> FaultSite:
    # No consumer runs: the bulks' messages stay on the queue to be counted.
    assert not fault_site.alive()
    return fault_site


@pytest.fixture(scope="module")
def postgresql_tests() -> None:
    from django.db import connection

    from tests.fixtures.services import missing_service

    if connection.vendor != "postgresql":
        missing_service(
            "the load suite runs with the PostgreSQL pass (set DATABASE_URL=postgres://…)"
        )


def product(sku: str) -> dict[str, Any]:
    return {
        "product": {
            "sku": sku,
            "name": f"Load {sku}",
            "price": 9.5,
            "attribute_set_id": 4,
            "type_id": "simple",
        }
    }


def all_at_once(
    site: FaultSite, requests: list[tuple[str, str, Any]], timeout: float = 300
) -> list[tuple[int, float, Any]]:
    """Send every request on its own connection, released together by a barrier; return
    (status, seconds, body) per request, in order (status 0: no answer)."""
    parsed = urlparse(site.url)
    results: list[tuple[int, float, Any]] = [(0, 0.0, None)] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(i: int, method: str, path: str, body: Any) -> None:
        payload = json.dumps(body).encode()
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
        barrier.wait()
        began = time.monotonic()
        try:
            conn.request(
                method,
                path,
                body=payload,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {site.token}",
                },
            )
            response = conn.getresponse()
            raw = response.read()
            results[i] = (response.status, time.monotonic() - began, json.loads(raw or b"null"))
        except (OSError, http.client.HTTPException) as exc:
            results[i] = (0, time.monotonic() - began, repr(exc))
        finally:
            conn.close()

    threads = [
        threading.Thread(target=send, args=(i, *request), daemon=True)
        for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 30)
    return results


def percentiles(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return {
        "p50": round(cuts[49] * 1000),
        "p95": round(cuts[94] * 1000),
        "p99": round(cuts[98] * 1000),
        "max": round(max(seconds) * 1000),
    }


def test_500_simultaneous_synchronous_creations_all_answered_none_lost(site):
    skus = [f"SYNC-{n:04d}" for n in range(500)]
    began = time.monotonic()
    results = all_at_once(site, [("POST", "/rest/V1/products", product(sku)) for sku in skus])
    wall = time.monotonic() - began
    statuses = Counter(status for status, _, _ in results)
    print(
        f"\n500 simultaneous POST /rest/V1/products: {dict(statuses)} in {wall:.1f} s, "
        f"latency ms {percentiles([s for _, s, _ in results])}"
    )
    assert statuses == Counter({200: 500}), [r for r in results if r[0] != 200][:5]
    assert sorted(body["sku"] for _, _, body in results) == skus
    rows = site.sql("SELECT sku, count(*) FROM catalog_product WHERE sku LIKE 'SYNC-%%' GROUP BY 1")
    assert sorted(sku for sku, _ in rows) == skus
    assert {count for _, count in rows} == {1}


def test_50_simultaneous_bulks_of_1000_items_all_accepted_recorded_and_queued(site):
    bulks = [[product(f"BULK-{b:02d}-{n:04d}") for n in range(1000)] for b in range(50)]
    began = time.monotonic()
    results = all_at_once(
        site, [("POST", "/rest/async/bulk/V1/products", items) for items in bulks]
    )
    wall = time.monotonic() - began
    statuses = Counter(status for status, _, _ in results)
    print(
        f"\n50 simultaneous bulks of 1,000 products: {dict(statuses)} in {wall:.1f} s "
        f"({50_000 / wall:,.0f} items/s), latency ms {percentiles([s for _, s, _ in results])}"
    )
    assert statuses == Counter({202: 50}), [r for r in results if r[0] != 202][:3]
    uuids = [body["bulk_uuid"] for _, _, body in results]
    assert all(len(body["request_items"]) == 1000 for _, _, body in results)
    assert not any(body["errors"] for _, _, body in results)
    recorded = site.sql(
        "SELECT b.uuid::text, count(*), count(*) FILTER (WHERE o.published) "
        "FROM operations_operation o JOIN operations_bulk b ON b.id = o.bulk_id "
        "WHERE b.uuid::text = ANY(%s) GROUP BY 1",
        uuids,
    )
    assert sorted(recorded) == sorted((uuid, 1000, 1000) for uuid in uuids)

    from queues.transports.amqp import AmqpTransport

    transport = AmqpTransport(site.env["AMQP_URL"])
    try:
        assert transport.count("async.operations.all") == 50_000
    finally:
        transport.close()
