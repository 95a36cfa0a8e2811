"""Per-minute queue metrics (one upsert per batch), queue depth, the sampled queue states."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from queues import metrics, monitor, registry
from queues.actions import cleanup, restart_consumers
from queues.consumer import ConsumerHook, ConsumerRuntime
from queues.consumer.outcome import Outcome
from queues.models import ConsumerProcess, OperatorAction, QueueMinute
from tests.fixtures.operations import bulk_post, product_item
from tests.fixtures.queues import envelope, simple_topology

PRODUCTS = "all/async/bulk/V1/products"
CUSTOMERS = "async/bulk/V1/customers"
UPSERT = 'INSERT INTO "queues_queueminute"'

services = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Batches(ConsumerHook):
    """Counts the received batches that dealt with something."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def after_process(self, runtime, outcome) -> None:
        if outcome.received:
            self.sizes.append(outcome.received)


def _customer(email: str) -> dict:
    return {
        "customer": {"email": email, "firstname": "F", "lastname": "L"},
        "password": "Password1!x",
    }


@services
@pytest.mark.parametrize("batch_size", [1, 50])
def test_a_consumer_writes_one_metrics_row_per_batch_with_its_operations(
    api, admin_token, ops_topology, batch_size
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item(f"M{i:03d}") for i in range(60)], admin_token)
    probe = Batches()
    runtime = ConsumerRuntime(
        ops_topology.consumer,
        max_messages=60,
        max_idle_time=5,
        sleep=0.1,
        batch_size=batch_size,
        register=False,
        hooks=[probe],
    )
    with CaptureQueriesContext(connection) as queries:
        assert runtime.run().processed == 60

    upserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(UPSERT)]
    assert len(upserts) == len(probe.sizes)  # once per batch, not per message
    assert all("ON CONFLICT" in sql for sql in upserts)
    rows = QueueMinute.objects.filter(queue=ops_topology.queue)
    assert sum(r.messages for r in rows) == 60
    assert sum(r.operations for r in rows) == 60
    assert sum(r.operations_failed for r in rows) == 0
    assert sum(r.seconds for r in rows) > 0
    assert all(r.minute.second == 0 for r in rows)
    totals = metrics.totals(timezone.now() - timedelta(hours=1), queue=ops_topology.queue)
    assert (totals.messages, totals.operations) == (60, 60)
    del bulk


@services
def test_failed_operations_are_counted_apart(api, admin_token, db_ops_topology):
    bulk_post(
        api, CUSTOMERS, [_customer("same@example.com"), _customer("same@example.com")], admin_token
    )
    db_ops_topology.run(max_messages=2)
    totals = metrics.totals(timezone.now() - timedelta(minutes=5), queue=db_ops_topology.queue)
    assert (totals.operations, totals.operations_failed) == (1, 1)
    assert totals.messages == 2  # both messages were handled: the failure is the operation's


@services
def test_a_failing_metrics_write_is_logged_and_the_consumer_goes_on(
    queue_registry, unique, monkeypatch, caplog
):
    handled: list[str] = []
    names = simple_topology(unique, "db", handler=lambda env: handled.append(env.message_id))
    from queues.transports.db import DbTransport

    DbTransport().publish(names["exchange"], [envelope("a.b"), envelope("a.c")])

    def broken(*args, **kwargs):
        raise DatabaseError("the disk is full")

    monkeypatch.setattr(metrics, "record", broken)
    result = ConsumerRuntime(
        names["consumer"], max_messages=2, max_idle_time=2, sleep=0.05, register=False
    ).run()
    assert result.processed == 2 and len(handled) == 2
    assert "metrics were not recorded: the disk is full" in caplog.text


def test_outcome_work_is_summed():
    first = Outcome(received=1, work={"operations": 3})
    first += Outcome(received=2, work={"operations": 2, "operations_failed": 1})
    assert first.work == {"operations": 5, "operations_failed": 1}


def test_the_metrics_hook_is_attached_last_to_every_runtime(queue_registry, unique):
    names = simple_topology(unique, "db", handler=lambda env: None, hooks=[Batches])
    runtime = ConsumerRuntime(names["consumer"], register=False)
    assert type(runtime.hooks.hooks[-1]) is metrics.MetricsHook
    assert any(isinstance(h, Batches) for h in runtime.hooks.hooks[:-1])


@pytest.mark.django_db
def test_upserts_add_up_in_one_row_and_series_fill_every_bucket():
    now = timezone.now().replace(second=30, microsecond=0)
    metrics.record("q1", messages=5, operations=50, seconds=1.5, at=now)
    metrics.record("q1", messages=1, operations=10, operations_failed=2, at=now)
    metrics.record("q2", messages=7, failed=1, dead=1, at=now - timedelta(minutes=3))
    metrics.record("q1", messages=100, at=now - timedelta(days=2))

    row = QueueMinute.objects.get(queue="q1", minute=metrics.minute_of(now))
    assert (row.messages, row.operations, row.operations_failed) == (6, 60, 2)
    assert row.seconds == pytest.approx(1.5)

    hour = metrics.series(None, now - timedelta(hours=1), now, 60)
    assert len(hour) == 61 and all(p.bucket == 60 for p in hour)
    assert hour[-1].operations == 60 and hour[-1].start == metrics.minute_of(now)
    assert hour[-4].messages == 7 and hour[-4].failed == 1
    assert sum(p.messages for p in hour) == 13
    only_q1 = metrics.series("q1", now - timedelta(hours=1), now, 60)
    assert sum(p.messages for p in only_q1) == 6

    six = metrics.series(None, now - timedelta(hours=6), now, 300)
    assert sum(p.messages for p in six) == 13 and len(six) in (73, 74)
    week = metrics.series(None, now - timedelta(days=7), now, 3600)
    assert sum(p.messages for p in week) == 113 and len(week) in (169, 170)

    day = metrics.totals(now - timedelta(days=1))
    assert (day.messages, day.operations, day.operations_failed) == (13, 60, 2)
    per_queue = metrics.by_queue(now - timedelta(hours=1))
    assert per_queue["q1"].messages == 6 and per_queue["q2"].messages == 7

    with pytest.raises(ValueError):
        metrics.series(None, now - timedelta(hours=1), now, 42)


@pytest.mark.django_db
def test_reading_metrics_never_touches_messages_or_operations(django_assert_max_num_queries):
    now = timezone.now()
    metrics.record("q1", messages=1, at=now)
    with CaptureQueriesContext(connection) as queries:
        metrics.series(None, now - timedelta(days=7), now, 3600)
        metrics.series("q1", now - timedelta(hours=1), now, 60)
        metrics.totals(now - timedelta(days=1))
        metrics.by_queue(now - timedelta(hours=1))
    assert len(queries) == 4
    assert all("queues_queueminute" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_cleanup_deletes_minutes_older_than_the_kept_days(settings):
    settings.QUEUES = {**getattr(settings, "QUEUES", {}), "METRICS_KEEP_DAYS": 2}
    now = timezone.now()
    metrics.record("q", messages=1, at=now)
    metrics.record("q", messages=1, at=now - timedelta(days=1))
    metrics.record("q", messages=1, at=now - timedelta(days=3))
    cleanup()
    assert QueueMinute.objects.count() == 2
    assert metrics.forget_old(0.5) == 1  # the one of a day ago, older than half a day


# -- depth and queue states -------------------------------------------------------------


@services
def test_depth_counts_waiting_unacked_and_dead_messages(
    make_transport, transport_kind, queue_registry, unique
):
    kind = transport_kind
    names = simple_topology(unique, kind, handler=lambda env: None)
    transport = make_transport()
    transport.setup(registry.topology(kind))
    transport.publish(names["exchange"], [envelope(f"t.{i}") for i in range(5)])
    assert _eventually(lambda: transport.depth(names["queue"]).waiting == 5)
    taken = transport.receive(names["queue"], 2, 5)
    assert len(taken) == 2
    transport.dead_letter(taken[0], "poison")
    if kind == "amqp":  # what the consumer channel prefetched goes back to ready
        transport.close()
        transport = make_transport()
        waiting = 4
    else:
        waiting = 3
    depth = _eventually(lambda: _settled(transport.depth(names["queue"]), waiting))
    assert depth is not None, transport.depth(names["queue"])
    if kind == "db":
        assert depth.unacked == 1 and depth.consumers is None  # taken[1] is claimed
    else:
        assert depth.unacked is None  # no management API configured: unknown
        assert depth.consumers == 0

    monitor.forget()
    state = monitor.queue_state(names["queue"])
    assert state is not None and state.transport == kind
    assert state.bindings == ((names["exchange"], "#"),)
    assert state.consumer_names == (names["consumer"],)
    assert (state.waiting, state.dead) == (waiting, 1)
    assert state.stalled and state.dead_for is None  # waiting, and no consumer ever ran
    monitor.forget()


def _settled(depth, waiting):
    return depth if depth.dead == 1 and depth.waiting == waiting else None


def _eventually(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


@services
def test_an_unreachable_broker_is_an_error_text_not_an_exception(queue_registry, unique, settings):
    settings.QUEUES = {
        **getattr(settings, "QUEUES", {}),
        "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F",
    }
    simple_topology(unique, "amqp", handler=lambda env: None)
    monitor.forget()
    [state] = monitor.queue_states()
    assert state.waiting is None and "cannot be reached" in state.error
    monitor.forget()


@services
def test_states_are_sampled_once_per_interval_however_many_threads_ask(queue_registry, unique):
    simple_topology(unique, "db", handler=lambda env: None)
    monitor.forget()
    before = monitor.samples
    results: list[int] = []

    def ask() -> None:
        for _ in range(5):
            results.append(len(monitor.queue_states(max_age=10)))
        from django.db import connections

        connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 40
    assert monitor.samples - before == 1
    monitor.forget()


@services
def test_a_stopped_consumer_leaves_its_queue_stalled_since_it_stopped(queue_registry, unique):
    names = simple_topology(unique, "db", handler=lambda env: None)
    stopped = timezone.now() - timedelta(minutes=3)
    ConsumerProcess.objects.create(
        name=names["consumer"],
        pid=1,
        stopped_at=stopped,
        last_heartbeat=stopped,
        exit_reason="restart",
    )
    from queues.transports.db import DbTransport

    DbTransport().publish(names["exchange"], [envelope("x.y") for _ in range(4)])
    monitor.forget()
    [state] = monitor.queue_states()
    assert state.waiting == 4 and state.stalled
    assert state.alive == () and state.processes == ()
    assert timedelta(minutes=3) <= state.dead_for < timedelta(minutes=4)
    monitor.forget()


@pytest.mark.django_db
def test_restart_asks_one_or_all_running_consumers_and_records_who():
    one = ConsumerProcess.objects.create(name="c1", pid=11)
    ConsumerProcess.objects.create(name="c2", pid=12)
    ConsumerProcess.objects.create(name="c3", pid=13, stopped_at=timezone.now())
    assert restart_consumers("alice", one.pk) == 1
    assert restart_consumers("alice", one.pk) == 0  # asked already
    assert restart_consumers("bob") == 1  # c2; c1 was asked, c3 has stopped
    assert set(
        ConsumerProcess.objects.filter(stop_requested=True).values_list("name", flat=True)
    ) == {"c1", "c2"}
    actions = list(OperatorAction.objects.order_by("id").values_list("actor", "target", "count"))
    assert actions == [("alice", "c1", 1), ("alice", "c1", 0), ("bob", "all", 1)]


@pytest.fixture
def management_api():
    """A stand-in for RabbitMQ's management API (its plugin is not enabled here): it
    answers GET /api/queues/<vhost>/<queue> as RabbitMQ does, recording the requests."""
    import json as json_module
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append((self.path, self.headers.get("Authorization", "")))
            body = json_module.dumps({"name": "q", "messages_unacknowledged": 2}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://admin:s%40cret@127.0.0.1:{server.server_port}", seen
    server.shutdown()


@services
def test_amqp_unacked_comes_from_the_management_api_when_configured(
    rabbitmq_url, queue_registry, unique, settings, management_api
):
    import base64

    from queues.transports.amqp import AmqpTransport

    url, seen = management_api
    names = simple_topology(unique, "amqp", handler=lambda env: None)
    transport = AmqpTransport()
    try:
        transport.setup(registry.topology("amqp"))
        assert transport.depth(names["queue"]).unacked is None  # not configured: unknown
        settings.QUEUES = {**getattr(settings, "QUEUES", {}), "AMQP_MANAGEMENT_URL": url}
        assert transport.depth(names["queue"]).unacked == 2
        path, auth = seen[-1]
        assert path == f"/api/queues/%2F/{names['queue']}"
        assert auth == "Basic " + base64.b64encode(b"admin:s@cret").decode()
        settings.QUEUES = {
            **settings.QUEUES,
            "AMQP_MANAGEMENT_URL": "http://guest:guest@127.0.0.1:1",
        }
        assert transport.depth(names["queue"]).unacked is None  # unreachable: unknown
    finally:
        transport.teardown(registry.topology("amqp"))
        transport.close()
