"""The db transport's own semantics, publishing helpers and periodic tasks."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from queues import (
    OutgoingMessage,
    Periodic,
    publish,
    publish_many,
    publish_many_on_commit,
    publish_on_commit,
    registry,
)
from queues.actions import cleanup
from queues.consumer import ConsumerRuntime
from queues.exceptions import DeclarationError
from queues.models import ConsumerProcess, ProcessedMessage, QueueMessage, QueueMinute
from queues.periodic import claim_run
from queues.transports.db import DbTransport, LostClaim
from tests.fixtures.queues import drain, simple_topology

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo(queue_registry, unique):
    handled: list[str] = []
    names = simple_topology(unique, "db", handler=lambda env: handled.append(env.message_id))
    names["handled"] = handled
    return names


def test_a_message_held_too_long_comes_back_with_one_more_trial_and_then_is_dead_lettered(topo):
    slow = DbTransport(visibility_timeout=0.1)
    message_id = publish("t", {})
    for trial in range(3):
        (delivery,) = drain(slow, topo["queue"], 1, ack=False)
        assert delivery.trials == trial
        time.sleep(0.15)  # the consumer holding it "dies"
        slow._last_reclaim.clear()

    ConsumerRuntime(
        topo["consumer"], transport=slow, max_trials=3, max_idle_time=0.2, sleep=0.05
    ).run()

    row = QueueMessage.objects.get(message_id=message_id)
    assert (row.status, row.trials) == ("dead", 3)
    assert "gave up after 3 trials" in row.error
    assert topo["handled"] == []


def test_an_ack_after_another_consumer_reclaimed_the_message_rolls_back(topo):
    late, quick = DbTransport(visibility_timeout=0.1), DbTransport(visibility_timeout=0.1)
    publish("t", {})
    (held,) = drain(late, topo["queue"], 1, ack=False)
    time.sleep(0.15)
    (reclaimed,) = drain(quick, topo["queue"], 1, ack=False)

    with pytest.raises(LostClaim), transaction.atomic():
        late.ack([held])
    quick.ack([reclaimed])

    assert QueueMessage.objects.get(pk=held.tag).status == "done"


def test_publishing_inside_a_rolled_back_transaction_leaves_no_message(topo):
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("t", {})
        raise RuntimeError("the caller's work failed")

    assert not QueueMessage.objects.filter(queue=topo["queue"]).exists()


def test_publish_on_commit_waits_for_the_commit_and_returns_the_id_at_once(
    topo, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_id = publish_on_commit("t", {"a": 1}, headers={"store_id": 1})
        ids = publish_many_on_commit(
            [("t", {"b": 2}, None), OutgoingMessage("t", {"c": 3}, message_id="given")]
        )
        assert not QueueMessage.objects.filter(queue=topo["queue"]).exists()

    assert len(callbacks) == 2
    rows = QueueMessage.objects.filter(queue=topo["queue"]).order_by("id")
    assert [r.message_id for r in rows] == [message_id, *ids]
    assert ids[1] == "given"
    assert rows[0].headers == {"store_id": 1}


def test_publish_many_keeps_order_and_returns_every_id(topo):
    ids = publish_many([("a.b", {"n": n}, {"h": n}) for n in range(5)])

    rows = list(QueueMessage.objects.filter(queue=topo["queue"]).order_by("id"))
    assert [r.message_id for r in rows] == ids
    assert [(r.topic, r.body, r.headers) for r in rows] == [
        ("a.b", {"n": n}, {"h": n}) for n in range(5)
    ]


def test_publishing_a_topic_without_publisher_fails_loudly(queue_registry):
    with pytest.raises(DeclarationError, match="no enabled publisher"):
        publish("nobody.publishes.this", {})


def test_a_body_that_is_not_an_object_is_refused(topo):
    with pytest.raises(TypeError, match="must be a dict"):
        publish("t", ["not", "an", "object"])


def test_a_row_that_is_not_a_message_is_dead_lettered_as_undecodable(topo):
    row = QueueMessage.objects.create(queue=topo["queue"], topic="t", message_id="m", body=[1, 2])

    result = ConsumerRuntime(topo["consumer"], max_idle_time=0.2, sleep=0.05).run()

    row.refresh_from_db()
    assert (result.dead, row.status) == (1, "dead")
    assert row.error.startswith("undecodable message")


def test_cleanup_deletes_old_done_messages_and_keeps_the_rest(topo):
    publish_many([("t", {"n": n}, None) for n in range(3)])
    old, recent, waiting = QueueMessage.objects.filter(queue=topo["queue"]).order_by("id")
    long_ago = timezone.now() - timedelta(hours=25)
    QueueMessage.objects.filter(pk=old.pk).update(status="done", finished_at=long_ago)
    QueueMessage.objects.filter(pk=recent.pk).update(status="done", finished_at=timezone.now())
    ProcessedMessage.objects.create(
        consumer="c", message_id="old", processed_at=long_ago - timedelta(days=7)
    )
    ConsumerProcess.objects.create(name="c", stopped_at=long_ago, last_heartbeat=long_ago)
    minute = timezone.now().replace(second=0, microsecond=0)
    QueueMinute.objects.create(queue=topo["queue"], minute=minute - timedelta(days=9))
    QueueMinute.objects.create(queue=topo["queue"], minute=minute - timedelta(days=7))

    removed = cleanup()

    assert removed == {"messages": 1, "processed": 1, "consumers": 1, "metrics": 1}
    assert QueueMinute.objects.count() == 1  # a week of minutes is kept (8 days)
    assert set(QueueMessage.objects.filter(queue=topo["queue"]).values_list("pk", flat=True)) == {
        recent.pk,
        waiting.pk,
    }


def test_the_framework_declares_its_own_cleanup_task():
    from tests.test_queues_checks import PROJECT

    assert PROJECT.periodics["queues.cleanup"].func == "queues.actions.cleanup"


def test_a_periodic_task_of_a_consumer_runs_between_receives_once_per_interval(topo, unique):
    runs = []
    registry.declare(
        Periodic(unique("p"), func=lambda: runs.append(1), interval=3600, consumer=topo["consumer"])
    )

    ConsumerRuntime(topo["consumer"], max_idle_time=0.3, sleep=0.05).run()
    ConsumerRuntime(topo["consumer"], max_idle_time=0.3, sleep=0.05).run()

    assert runs == [1], "the second process saw it had run within the interval"


def test_time_spent_on_periodic_tasks_does_not_count_as_idle(topo, unique):
    # A slow periodic task (the outbox relay on a busy database) before the first
    # receive must not make a consumer with a short max_idle_time exit with work waiting.
    registry.declare(
        Periodic(
            unique("slow"), func=lambda: time.sleep(0.5), interval=3600, consumer=topo["consumer"]
        )
    )
    publish("t", {"n": 1})

    result = ConsumerRuntime(topo["consumer"], max_idle_time=0.3, sleep=0.05, register=False).run()

    assert result.processed == 1
    assert len(topo["handled"]) == 1


def test_a_periodic_run_is_claimed_by_one_process_only():
    assert claim_run("job", 60) is True
    assert claim_run("job", 60) is False
    assert claim_run("job", 0) is True


def test_redelivered_message_of_a_batch_is_not_run_again(topo, unique):
    calls = []

    def batch(envelopes):
        calls.append(sorted(e.body["n"] for e in envelopes))

    publish_many([("t", {"n": n}, None) for n in range(4)])
    first = QueueMessage.objects.filter(queue=topo["queue"]).order_by("id").first()
    ProcessedMessage.objects.create(consumer=topo["consumer"], message_id=first.message_id)
    runtime = ConsumerRuntime(topo["consumer"], batch_size=10, max_idle_time=0.2, sleep=0.05)
    runtime.batch_handler = batch

    runtime.run()

    assert calls == [[1, 2, 3]]
    assert (runtime.result.processed, runtime.result.duplicates) == (3, 1)


def test_a_failing_batch_is_retried_one_message_at_a_time(topo):
    publish_many([("t", {"n": n}, None) for n in range(3)])
    handled = []

    def batch(envelopes):
        if len(envelopes) > 1:
            raise RuntimeError("one of you is bad")
        if envelopes[0].body["n"] == 1:
            raise RuntimeError("it was me")
        handled.append(envelopes[0].body["n"])

    runtime = ConsumerRuntime(
        topo["consumer"], batch_size=10, max_idle_time=0.2, sleep=0.05, max_trials=1
    )
    runtime.batch_handler = batch
    runtime.consumer = dataclasses.replace(runtime.consumer, handler=None)

    runtime.run()

    assert sorted(handled) == [0, 2]
    assert QueueMessage.objects.get(queue=topo["queue"], status="dead").body == {"n": 1}


def test_the_first_delivery_is_not_marked_redelivered(topo):
    publish("t", {})

    (delivery,) = drain(DbTransport(), topo["queue"], 1)

    assert (delivery.trials, delivery.redelivered) == (0, False)
    assert (delivery.envelope.topic, delivery.envelope.body, delivery.envelope.headers) == (
        "t",
        {},
        {},
    )


def test_a_body_against_its_topics_schema_is_refused_before_anything_is_sent(topo):
    from queues import Topic
    from queues.exceptions import MessageSchemaError

    schema = {
        "type": "object",
        "required": ["operation_id"],
        "properties": {"operation_id": {"type": "integer"}},
    }
    registry.declare(Topic("orders.placed", schema=schema))

    with pytest.raises(MessageSchemaError, match="lacks required 'operation_id'"):
        publish_many([("orders.placed", {"operation_id": 1}, None), ("orders.placed", {}, None)])
    with pytest.raises(MessageSchemaError, match=r"body.operation_id must be integer, got str"):
        publish("orders.placed", {"operation_id": "1"})
    assert not QueueMessage.objects.filter(queue=topo["queue"]).exists()
    publish("orders.placed", {"operation_id": 1})


def test_without_group_commit_each_message_commits_alone(topo, settings):
    from django.contrib.auth.models import Group

    settings.QUEUES = {**settings.QUEUES, "COMMIT_INTERVAL": 0}
    publish_many([("t", {"n": n}, None) for n in range(3)])

    def handler(env):
        if env.body["n"] == 1:
            raise RuntimeError("poison")
        Group.objects.create(name=f"g{env.body['n']}")

    runtime = ConsumerRuntime(
        dataclasses.replace(registry.consumer(topo["consumer"]), handler=handler),
        max_trials=1,
        max_idle_time=0.2,
        sleep=0.05,
    )
    runtime.run()

    assert runtime.commit_interval == 0
    assert sorted(Group.objects.values_list("name", flat=True)) == ["g0", "g2"]
    assert (runtime.result.processed, runtime.result.dead) == (2, 1)


def test_a_failure_in_a_rolled_back_group_is_logged_with_its_own_traceback_only(
    queue_registry, unique, caplog
):
    def handler(env):
        if env.body["n"] == 1:
            raise RuntimeError("it was me")

    names = simple_topology(unique, "db", handler=handler)
    publish_many([("t", {"n": n}, None) for n in range(3)])

    ConsumerRuntime(names["consumer"], max_idle_time=0.2, sleep=0.05, max_trials=1).run()

    (failure,) = [r for r in caplog.records if "failed: RuntimeError: it was me" in r.getMessage()]
    assert failure.exc_info is not None and failure.exc_info[1].__context__ is None, (
        "the group's rollback must not be chained onto the message's own error"
    )


def test_a_restart_request_is_noticed_between_messages_of_a_claimed_batch(queue_registry, unique):
    from queues import processes

    handled: list[int] = []

    def handler(env):
        handled.append(env.body["n"])
        if env.body["n"] == 2:
            processes.request_restart(names["consumer"])

    names = simple_topology(unique, "db", handler=handler)
    publish_many([("t", {"n": n}, None) for n in range(20)])  # claimed in one batch of up to 100

    runtime = ConsumerRuntime(
        names["consumer"], max_idle_time=2, heartbeat_interval=0, commit_interval=0
    )
    result = runtime.run()

    assert result.reason == "restart"
    assert handled == [0, 1, 2]
    assert QueueMessage.objects.filter(queue=names["queue"], status="waiting").count() == 17


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_sqlite_a_busy_consumer_lets_another_writer_in_within_a_second(queue_registry, unique):
    """SQLite has one writer: a consumer committing back to back must not make a web
    request (here: another thread's insert) wait until the whole queue is drained."""
    import threading

    from django.contrib.auth.models import Group
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("only SQLite makes writers wait for each other")
    names = simple_topology(unique, "db", handler=lambda env: time.sleep(0.004))
    publish_many([("t", {"n": n}, None) for n in range(1000)])  # about 4 s of work
    runtime = ConsumerRuntime(names["consumer"], max_idle_time=0.5, sleep=0.05)
    consumer = threading.Thread(target=runtime.run)
    consumer.start()
    try:
        time.sleep(0.8)  # well into the back-to-back commits
        started = time.monotonic()
        Group.objects.create(name="written while the consumer is busy")
        waited = time.monotonic() - started
    finally:
        runtime.stop()
        consumer.join(timeout=30)

    assert waited < 1.0, f"the insert waited {waited:.1f}s for the consumer"
    assert QueueMessage.objects.filter(queue=names["queue"], status="waiting").exists(), (
        "the queue was still busy"
    )


def test_an_already_processed_message_in_a_failing_batch_is_skipped_not_run_again(topo):
    publish_many([("t", {"n": n}, None) for n in range(3)])
    first = QueueMessage.objects.filter(queue=topo["queue"]).order_by("id").first()
    ProcessedMessage.objects.create(consumer=topo["consumer"], message_id=first.message_id)
    calls: list[list[int]] = []

    def batch(envelopes):
        calls.append([e.body["n"] for e in envelopes])
        if len(envelopes) > 1:
            raise RuntimeError("one of you is bad")

    runtime = ConsumerRuntime(
        topo["consumer"], batch_size=10, max_idle_time=0.2, sleep=0.05, max_trials=1
    )
    runtime.batch_handler = batch
    runtime.consumer = dataclasses.replace(runtime.consumer, handler=None)

    result = runtime.run()

    assert [0] not in calls, "the processed message did not run again"
    assert (result.processed, result.duplicates, result.failures, result.dead) == (2, 1, 0, 0)
