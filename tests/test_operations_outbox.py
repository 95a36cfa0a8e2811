"""The outbox: nothing is lost when the broker is down; the relay, the sweeper, the clean-up."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Product
from operations.actions import relay_unpublished, retry_operation, sweep_stuck
from operations.models import Bulk, EventKind, Operation, OperationEvent, OperationStatus
from queues.conf import queue_settings
from queues.publisher import close_transports
from tests.fixtures.operations import bulk_post, product_item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
CLOSED_PORT = "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.mark.parametrize("transport_kind", ["amqp"], indirect=True)
def test_a_broker_down_at_accept_time_costs_latency_never_data(
    api, admin_token, ops_topology, settings
):
    working_url = queue_settings.AMQP_URL
    # Two connection attempts instead of ten: the request waits ~0.25 s, not ~28 s.
    settings.QUEUES = {**settings.QUEUES, "AMQP_URL": CLOSED_PORT, "AMQP_RECONNECT_ATTEMPTS": 2}
    close_transports()
    try:
        items = [product_item("DOWN1"), product_item("DOWN2")]
        response, bulk = bulk_post(api, PRODUCTS, items, admin_token)
        started = time.monotonic()
        second, later = bulk_post(api, PRODUCTS, [product_item("DOWN3")], admin_token)
        second_took = time.monotonic() - started
    finally:
        settings.QUEUES = {**settings.QUEUES, "AMQP_URL": working_url}
        close_transports()

    assert response.status_code == second.status_code == 202
    assert response.json()["errors"] is False
    assert Operation.objects.filter(status=OperationStatus.OPEN, published=False).count() == 3
    assert second_took < 2  # the breaker: later requests do not wait for the broker again
    assert ops_topology.waiting() == 0

    assert relay_unpublished(grace_seconds=0) == 3
    assert Operation.objects.filter(published=True).count() == 3
    published = OperationEvent.objects.filter(kind=EventKind.PUBLISHED)
    assert published.filter(operation__bulk=bulk).count() == 2

    ops_topology.run(max_messages=3)

    assert Operation.objects.filter(status=OperationStatus.COMPLETE).count() == 3
    assert Product.objects.filter(sku__in=["DOWN1", "DOWN2", "DOWN3"]).count() == 3
    assert later.operations.get().status == OperationStatus.COMPLETE


def test_the_relay_leaves_alone_operations_whose_own_publish_may_still_be_on_its_way(
    api, admin_token, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("FRESH")], admin_token)
    bulk.operations.update(published=False)

    assert relay_unpublished() == 0  # opened a moment ago: within RELAY_GRACE_SECONDS
    assert relay_unpublished(grace_seconds=0) == 1
    assert relay_unpublished(grace_seconds=0) == 0


def test_the_relay_runs_inside_the_consumer_and_the_operation_runs_once(
    api, admin_token, db_ops_topology, settings
):
    settings.OPERATIONS = {**settings.OPERATIONS, "RELAY_GRACE_SECONDS": 0}
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("RELAYED")], admin_token)
    bulk.operations.update(published=False)  # as if the broker never confirmed it

    result = db_ops_topology.run(idle=1.0)

    op = bulk.operations.get()
    assert result.processed == 2  # the original message and the relay's copy
    assert op.status == OperationStatus.COMPLETE
    assert op.attempts == 1
    assert Product.objects.filter(sku="RELAYED").count() == 1


def test_a_stuck_operation_is_republished_once_then_left_retriably_failed(
    api, admin_token, admin_user, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("STUCK")], admin_token)
    long_ago = timezone.now() - timedelta(hours=2)
    # Started by a consumer that died (no live consumer process): its message is lost.
    # (A never-started one waiting in the queue is left alone: test_hardening_sweeper.)
    bulk.operations.update(opened_at=long_ago, started_at=long_ago)

    assert sweep_stuck() == {"published": 0, "republished": 1, "failed": 0}
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 1 and op.opened_at > long_ago
    assert db_ops_topology.waiting() == 2

    bulk.operations.update(opened_at=long_ago)
    assert sweep_stuck() == {"published": 0, "republished": 0, "failed": 1}
    op.refresh_from_db()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert "stayed open for more than 3600 seconds" in op.result_message
    assert op.events.filter(kind=EventKind.FAILED, consumer="sweeper").exists()

    db_ops_topology.run(max_messages=2)  # the queued copies find it final: nothing runs
    assert not Product.objects.filter(sku="STUCK").exists()

    retry_operation(op, admin_user)
    db_ops_topology.run(max_messages=1)
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE and op.sweeps == 0


def test_operations_within_the_timeout_are_not_swept(api, admin_token, db_ops_topology):
    bulk_post(api, PRODUCTS, [product_item("YOUNG")], admin_token)
    assert sweep_stuck() == {"published": 0, "republished": 0, "failed": 0}


def test_the_sweep_command_reports_what_it_did(api, admin_token, db_ops_topology):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("CMD")], admin_token)
    bulk.operations.update(published=False, opened_at=timezone.now() - timedelta(minutes=5))
    out = StringIO()

    call_command("operations_sweep", stdout=out)

    assert "Relay: published 1 operation(s)." in out.getvalue()
    assert "marked retriably failed 0" in out.getvalue()
    assert bulk.operations.get().published


def test_cleanup_deletes_bulks_older_than_their_lifetime_with_everything_in_them(
    api, admin_token, db_ops_topology
):
    _r, old = bulk_post(
        api, PRODUCTS, [product_item("OLD1"), product_item("OLD2", price="x")], admin_token
    )
    _r, recent = bulk_post(api, PRODUCTS, [product_item("NEW")], admin_token)
    Bulk.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=61))
    out = StringIO()

    call_command("operations_cleanup", "--batch-size", "1", stdout=out)

    assert "Deleted 1 bulk(s)." in out.getvalue()
    assert list(Bulk.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Operation.objects.filter(bulk_id=old.pk).exists()
    assert OperationEvent.objects.filter(operation__bulk=recent).exists()
    assert OperationEvent.objects.count() == recent.operations.count()

    call_command("operations_cleanup", "--days", "0", stdout=StringIO())
    assert not Bulk.objects.exists() and not Operation.objects.exists()
