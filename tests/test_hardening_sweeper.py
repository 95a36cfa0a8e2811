"""Defect 12 of issue 12: the sweeper fails operations that are only waiting.

An operation open longer than OPERATIONS_STUCK_AFTER_SECONDS whose message still waits
in a long queue must be neither published again (a duplicate message) nor failed; only
operations whose message is known to be lost are swept: started by a consumer no live
process holds, or (db transport) with no message left in the queue.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from dashboard.bulk_waiting import why_not_moving
from operations.actions import sweep_stuck
from operations.models import EventKind, OperationStatus
from queues.models import ConsumerProcess, QueueMessage
from tests.fixtures.operations import bulk_post, product_item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
NOTHING = {"published": 0, "republished": 0, "failed": 0}


def _stuck_bulk(api, admin_token, sku, **fields):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item(sku)], admin_token)
    long_ago = timezone.now() - timedelta(hours=2)
    bulk.operations.update(opened_at=long_ago, **fields)
    return bulk, long_ago


def test_a_never_started_operation_waiting_in_a_long_queue_is_neither_republished_nor_failed(
    api, admin_token, db_ops_topology
):
    bulk, long_ago = _stuck_bulk(api, admin_token, "WAITING")

    # Two periods (and more) of a consumer outage or of a backlog ahead of it.
    assert sweep_stuck() == NOTHING
    assert sweep_stuck() == NOTHING
    assert sweep_stuck() == NOTHING

    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 0 and op.opened_at == long_ago
    assert db_ops_topology.waiting() == 1  # no duplicate message
    assert not op.events.filter(kind=EventKind.FAILED).exists()

    db_ops_topology.run(max_messages=1)  # the consumer comes back: the work was fine
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE
    assert Product.objects.filter(sku="WAITING").count() == 1


def test_a_claimed_message_still_counts_as_in_the_queue(api, admin_token, db_ops_topology):
    bulk, _ = _stuck_bulk(api, admin_token, "CLAIMED")
    QueueMessage.objects.filter(queue=db_ops_topology.queue).update(
        status=QueueMessage.Status.CLAIMED, claimed_at=timezone.now()
    )

    assert sweep_stuck() == NOTHING
    assert bulk.operations.get().status == OperationStatus.OPEN


def test_a_started_operation_whose_consumer_died_is_republished_then_failed(
    api, admin_token, db_ops_topology
):
    bulk, long_ago = _stuck_bulk(api, admin_token, "DIED", started_at=timezone.now())
    ConsumerProcess.objects.create(  # the consumer that started it, stopped since
        name=db_ops_topology.consumer, stopped_at=timezone.now()
    )

    assert sweep_stuck() == {"published": 0, "republished": 1, "failed": 0}
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 1
    assert db_ops_topology.waiting() == 2

    bulk.operations.update(opened_at=long_ago)
    assert sweep_stuck() == {"published": 0, "republished": 0, "failed": 1}
    op.refresh_from_db()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert "stayed open for more than 3600 seconds" in op.result_message


def test_a_started_operation_held_by_a_live_consumer_is_left_alone(
    api, admin_token, db_ops_topology
):
    bulk, long_ago = _stuck_bulk(api, admin_token, "HELD", started_at=timezone.now())
    ConsumerProcess.objects.create(
        name=db_ops_topology.consumer, host=socket.gethostname(), pid=os.getpid()
    )

    assert sweep_stuck() == NOTHING
    assert sweep_stuck() == NOTHING
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 0 and op.opened_at == long_ago
    assert db_ops_topology.waiting() == 1


def test_on_the_db_transport_a_never_started_operation_whose_message_is_gone_is_republished(
    api, admin_token, db_ops_topology
):
    bulk, long_ago = _stuck_bulk(api, admin_token, "GONE")
    QueueMessage.objects.filter(queue=db_ops_topology.queue).delete()

    assert sweep_stuck() == {"published": 0, "republished": 1, "failed": 0}
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 1 and op.opened_at > long_ago
    assert op.events.filter(kind=EventKind.PUBLISHED, message__contains="sweeper").exists()
    assert db_ops_topology.waiting() == 1

    # Its new message waits: a second period is waiting too, not a failure.
    bulk.operations.update(opened_at=long_ago)
    assert sweep_stuck() == NOTHING

    db_ops_topology.run(max_messages=1)
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE
    assert Product.objects.filter(sku="GONE").count() == 1


def test_a_message_gone_twice_leaves_the_operation_retriably_failed(
    api, admin_token, db_ops_topology
):
    bulk, long_ago = _stuck_bulk(api, admin_token, "GONE2")
    QueueMessage.objects.filter(queue=db_ops_topology.queue).delete()
    assert sweep_stuck()["republished"] == 1

    QueueMessage.objects.filter(queue=db_ops_topology.queue).delete()
    bulk.operations.update(opened_at=long_ago)
    assert sweep_stuck() == {"published": 0, "republished": 0, "failed": 1}
    assert bulk.operations.get().status == OperationStatus.RETRIABLY_FAILED


def test_the_bulk_page_calls_a_backlog_waiting_in_a_long_queue_not_a_failure(
    api, admin_token, db_ops_topology
):
    bulk, _ = _stuck_bulk(api, admin_token, "PAGE")
    bulk.refresh_from_db()
    waiting = why_not_moving(bulk, now=bulk.changed_at + timedelta(hours=2))

    assert waiting is not None
    text = " ".join(waiting.sentences)
    assert "waiting in a long queue" in text
    assert "seem lost" not in text
    assert "not failed" in text


@pytest.mark.parametrize("transport_kind", ["amqp"], indirect=True)
def test_on_amqp_a_never_started_operation_is_never_swept(api, admin_token, ops_topology):
    # A RabbitMQ queue cannot be looked into cheaply: its message may still wait there.
    bulk, long_ago = _stuck_bulk(api, admin_token, "RABBIT")

    assert sweep_stuck() == NOTHING
    assert sweep_stuck() == NOTHING
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN and op.sweeps == 0 and op.opened_at == long_ago
    assert ops_topology.waiting() == 1

    ops_topology.run(max_messages=1)
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE
