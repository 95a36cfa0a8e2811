"""The shared behavioural suite: every test runs on the db and the amqp transport."""

from __future__ import annotations

import time

import pytest

from queues import Binding, Consumer, Exchange, Publisher, Queue, publish, publish_many, registry
from queues.consumer import ConsumerRuntime
from queues.exceptions import UnroutableError
from queues.models import QueueMessage
from tests.fixtures.queues import drain, envelope, simple_topology

pytestmark = pytest.mark.django_db


def _options(kind: str, **db_options):
    return {"prefetch": 5} if kind == "amqp" else db_options


def test_wildcard_bindings_route_like_rabbitmq(transport_kind, make_transport, unique):
    ex = unique("ex")
    patterns = {"star": "a.*", "hash": "a.#", "exact": "a.b.c", "middle": "*.b.#"}
    queues = {key: unique(key) for key in patterns}
    registry.declare(Exchange(ex, connection=transport_kind))
    for key, pattern in patterns.items():
        registry.declare(
            Queue(queues[key], connection=transport_kind),
            Binding(id=unique(f"b-{key}"), exchange=ex, topic=pattern, queue=queues[key]),
        )
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))

    transport.publish(ex, [envelope(t) for t in ("a", "a.b", "a.b.c", "x.b", "a.x.c")])

    expected = {
        "star": ["a.b"],
        "hash": ["a", "a.b", "a.b.c", "a.x.c"],
        "exact": ["a.b.c"],
        "middle": ["a.b", "a.b.c", "x.b"],
    }
    received = {
        key: sorted(d.envelope.topic for d in drain(transport, q, len(expected[key])))
        for key, q in queues.items()
    }
    assert received == expected
    assert all(transport.receive(q, 10, 0.05) == [] for q in queues.values()), "no extra copies"


def test_messages_of_one_queue_arrive_in_publish_order(transport_kind, make_transport, unique):
    names = simple_topology(unique, transport_kind)
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))
    sent = [envelope("order.placed", {"n": n}) for n in range(60)]

    transport.publish(names["exchange"], sent)

    got = drain(transport, names["queue"], 60)
    assert [d.envelope.body["n"] for d in got] == list(range(60))
    assert [d.envelope.message_id for d in got] == [e.message_id for e in sent]


def test_competing_consumers_share_a_queue_and_never_get_the_same_message(
    transport_kind, make_transport, unique
):
    names = simple_topology(unique, transport_kind)
    first, second = (
        make_transport(**_options(transport_kind)),
        make_transport(**_options(transport_kind)),
    )
    first.setup(registry.topology(transport_kind))
    first.publish(names["exchange"], [envelope("t", {"n": n}) for n in range(20)])

    seen: dict[str, list[int]] = {"first": [], "second": []}
    deadline = time.monotonic() + 10
    while len(seen["first"]) + len(seen["second"]) < 20 and time.monotonic() < deadline:
        for label, transport in (("first", first), ("second", second)):
            batch = transport.receive(names["queue"], 5, 0.2)
            seen[label] += [d.envelope.body["n"] for d in batch]
            transport.ack(batch)

    assert seen["first"] and seen["second"], "both consumers got a share"
    assert sorted(seen["first"] + seen["second"]) == list(range(20))


def test_messages_of_a_consumer_that_died_are_delivered_again(
    transport_kind, make_transport, unique
):
    names = simple_topology(unique, transport_kind)
    dying = make_transport(**_options(transport_kind, visibility_timeout=0.3))
    dying.setup(registry.topology(transport_kind))
    dying.publish(names["exchange"], [envelope("t", {"n": n}) for n in range(3)])
    taken = drain(dying, names["queue"], 3, ack=False)
    assert len(taken) == 3

    if transport_kind == "amqp":
        dying.close()  # the broker requeues what an ended connection left unacknowledged
    else:
        time.sleep(0.4)  # the db transport waits out the visibility timeout instead
    survivor = make_transport(**_options(transport_kind, visibility_timeout=0.3))
    again = drain(survivor, names["queue"], 3)

    assert sorted(d.envelope.body["n"] for d in again) == [0, 1, 2]
    assert all(d.redelivered for d in again)


def test_a_dead_lettered_message_is_never_delivered_again_but_a_retried_one_is(
    transport_kind, make_transport, unique
):
    names = simple_topology(unique, transport_kind)
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))
    transport.publish(
        names["exchange"], [envelope("t", {"n": "poison"}), envelope("t", {"n": "flaky"})]
    )
    poison, flaky = drain(transport, names["queue"], 2, ack=False)

    transport.dead_letter(poison, "cannot be processed")
    transport.retry(flaky, "try again")

    again = drain(transport, names["queue"], 2, timeout=0.8)
    assert [d.envelope.body["n"] for d in again] == ["flaky"]
    assert again[0].trials == 1
    if transport_kind == "db":
        row = QueueMessage.objects.get(message_id=poison.envelope.message_id)
        assert (row.status, row.error) == ("dead", "cannot be processed")
    else:
        dlq = registry.queues[names["queue"]].dead_letter_queue
        assert _eventually(lambda: transport.count(dlq) == 1)


def test_count_tells_how_many_messages_wait(transport_kind, make_transport, unique):
    names = simple_topology(unique, transport_kind)
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))
    transport.publish(names["exchange"], [envelope("t") for _ in range(4)])

    assert _eventually(lambda: transport.count(names["queue"]) == 4)


def test_a_topic_no_binding_routes_is_refused_at_publish(transport_kind, make_transport, unique):
    names = simple_topology(unique, transport_kind, pattern="orders.*")
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))

    with pytest.raises(UnroutableError if transport_kind == "db" else Exception) as info:
        transport.publish(names["exchange"], [envelope("customers.created")])
    assert "route" in str(info.value).lower()


# -- the consumer runtime on both transports ----------------------------------------


def _consume(name: str, **options) -> ConsumerRuntime:
    runtime = ConsumerRuntime(
        name, max_idle_time=options.pop("max_idle_time", 0.5), sleep=0.2, **options
    )
    runtime.run()
    return runtime


def test_consumer_stops_after_max_messages_and_leaves_the_rest_waiting(
    transport_kind, make_transport, unique
):
    handled = []
    names = simple_topology(
        unique, transport_kind, handler=lambda env: handled.append(env.body["n"])
    )
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("orders.placed", {"n": n}, None) for n in range(5)])

    runtime = _consume(names["consumer"], max_messages=3)

    assert runtime.result.reason == "max_messages"
    assert handled == [0, 1, 2]
    assert _eventually(lambda: make_transport().count(names["queue"]) == 2)


def test_a_message_published_twice_runs_once(transport_kind, make_transport, unique):
    handled = []
    names = simple_topology(
        unique, transport_kind, handler=lambda env: handled.append(env.message_id)
    )
    make_transport().setup(registry.topology(transport_kind))
    publish("orders.placed", {"n": 1}, message_id="same-id")
    publish("orders.placed", {"n": 1}, message_id="same-id")

    runtime = _consume(names["consumer"])

    assert handled == ["same-id"]
    assert (runtime.result.processed, runtime.result.duplicates) == (1, 1)
    assert _eventually(lambda: make_transport().count(names["queue"]) == 0)


def test_a_poison_message_is_dead_lettered_and_the_consumer_keeps_going(
    transport_kind, make_transport, unique
):
    from django.contrib.auth.models import Group

    def handler(env):
        if env.body.get("poison"):
            raise ValueError("cannot digest this")
        Group.objects.create(name=f"handled {env.body['n']}")  # unique: a second commit would fail

    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    publish_many(
        [("t", {"n": 0}, None), ("t", {"n": 1, "poison": True}, None), ("t", {"n": 2}, None)]
    )

    runtime = _consume(names["consumer"], max_trials=3)

    assert sorted(Group.objects.values_list("name", flat=True)) == ["handled 0", "handled 2"]
    assert (runtime.result.processed, runtime.result.failures, runtime.result.dead) == (2, 3, 1)
    dlq = registry.queues[names["queue"]].dead_letter_queue
    if transport_kind == "db":
        dead = QueueMessage.objects.get(queue=names["queue"], status="dead")
        assert "cannot digest this" in dead.error and dead.trials == 2
    else:
        assert _eventually(lambda: make_transport().count(dlq) == 1)


def test_the_consumers_dead_letter_hook_hears_of_every_message_set_aside(
    transport_kind, make_transport, unique
):
    from django.contrib.auth.models import Group

    def handler(env):
        raise ValueError("cannot digest this")

    def on_dead_letter(env, reason):
        Group.objects.create(
            name=f"{env.body['n']}: {reason}"[:150]
        )  # written in the hook's transaction

    names = simple_topology(unique, transport_kind, handler=handler, on_dead_letter=on_dead_letter)
    make_transport().setup(registry.topology(transport_kind))
    publish("t", {"n": 7})

    runtime = _consume(names["consumer"], max_trials=2)

    assert runtime.result.dead == 1
    (recorded,) = Group.objects.values_list("name", flat=True)
    assert recorded.startswith("7: failed 2 times; last error: ValueError: cannot digest this")


def test_a_topic_the_consumer_has_no_handler_for_is_dead_lettered(
    transport_kind, make_transport, unique
):
    names = simple_topology(unique, transport_kind, handler=None)
    make_transport().setup(registry.topology(transport_kind))
    publish("nobody.handles.this", {})

    runtime = _consume(names["consumer"])

    assert (runtime.result.processed, runtime.result.dead) == (0, 1)


def test_a_handler_failure_rolls_back_its_database_work(transport_kind, make_transport, unique):
    from django.contrib.auth.models import Group

    def handler(env):
        Group.objects.create(name=f"{env.message_id}-{env.headers.get('n')}")
        raise RuntimeError("after the write")

    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    publish("t", {}, headers={"n": 1})

    _consume(names["consumer"], max_trials=2)

    assert not Group.objects.exists()


def test_a_batch_handler_gets_many_messages_in_one_call(transport_kind, make_transport, unique):
    calls: list[list[int]] = []

    def batch(envelopes):
        calls.append([e.body["n"] for e in envelopes])

    batch.batch = True
    names = simple_topology(unique, transport_kind, handler=batch)
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("t", {"n": n}, None) for n in range(10)])

    runtime = _consume(names["consumer"], batch_size=5)

    assert sorted(n for call in calls for n in call) == list(range(10))
    assert len(calls) < 10
    assert runtime.result.processed == 10


def test_a_consumer_runs_the_batches_its_declaration_asks_for_unless_told_otherwise(
    transport_kind, make_transport, unique
):
    calls: list[list[int]] = []

    def batch(envelopes):  # a batch, or one envelope when run one by one
        items = envelopes if isinstance(envelopes, list) else [envelopes]
        calls.append([e.body["n"] for e in items])

    batch.batch = True
    names = simple_topology(unique, transport_kind, handler=batch, batch_size=4)
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("t", {"n": n}, None) for n in range(8)])
    assert _consume(names["consumer"]).batch_size == 4
    assert sorted(n for call in calls for n in call) == list(range(8))
    assert max(len(call) for call in calls) > 1  # the declared size, without a flag
    assert max(len(call) for call in calls) <= 4

    calls.clear()
    publish_many([("t", {"n": n}, None) for n in range(3)])
    assert _consume(names["consumer"], batch_size=1).result.processed == 3
    assert calls == [[0], [1], [2]]  # one by one when told so


def test_the_operations_consumer_takes_100_at_a_time_by_default():
    from operations.queues import declarations

    (consumer,) = [d for d in declarations() if isinstance(d, Consumer)]
    assert consumer.name == "async.operations.all"
    assert consumer.batch_size == 100
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        Consumer("c", queue="q", batch_size=0)


def test_a_consumer_declared_on_the_default_connection_follows_the_setting(
    settings, queue_registry, unique
):
    settings.QUEUES = {**settings.QUEUES, "CONNECTION": "db"}
    handled = []
    registry.declare(
        Exchange(unique("ex")),
        Queue(unique("q")),
        Binding(id=unique("b"), exchange=unique("ex"), topic="#", queue=unique("q")),
        Publisher(topic="#", connection="default", exchange=unique("ex")),
        Consumer(unique("c"), queue=unique("q"), handler=lambda env: handled.append(env.topic)),
    )
    publish("anything.at.all", {})

    runtime = _consume(unique("c"), max_idle_time=0.3)

    assert runtime.connection == "db"
    assert handled == ["anything.at.all"]


def _eventually(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("commit_interval", [0, 0.2], ids=["commit-each", "group-commit"])
def test_a_database_outage_while_handling_costs_no_trial_and_the_consumer_waits_it_out(
    transport_kind, make_transport, unique, commit_interval
):
    """The database connection dies mid-handler and the database stays unreachable
    for 1.5 s: the consumer must neither crash nor count a
    trial (on amqp a retry would otherwise race through MAX_TRIALS into the dead
    letters while the database is down); the message runs once the database is back."""
    import threading
    from contextlib import suppress

    from django.contrib.auth.models import Group
    from django.db import DatabaseError, connection

    settings_dict = connection.settings_dict
    key = "NAME" if connection.vendor == "sqlite" else "PORT"
    good, bad = settings_dict[key], ("/nonexistent-dir/db.sqlite3" if key == "NAME" else "8739")
    calls: list[int] = []

    def handler(env):
        calls.append(1)
        if len(calls) == 1:
            settings_dict[key] = bad  # reconnecting fails until the timer restores it
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # connect first, then lose the backend
                with suppress(DatabaseError), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            else:
                connection.ensure_connection()
                connection.connection.close()  # the file handle is gone under Django's feet
            threading.Timer(1.5, settings_dict.__setitem__, (key, good)).start()
        Group.objects.create(name=f"outage {env.body['n']}")

    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("t", {"n": n}, None) for n in (1, 2, 3)])
    try:
        runtime = _consume(
            names["consumer"],
            max_messages=3,
            max_idle_time=8,
            max_trials=2,
            commit_interval=commit_interval,
        )
    finally:
        settings_dict[key] = good

    names_written = Group.objects.filter(name__startswith="outage").values_list("name", flat=True)
    assert sorted(names_written) == ["outage 1", "outage 2", "outage 3"]
    assert (runtime.result.processed, runtime.result.failures, runtime.result.dead) == (3, 0, 0)
    if transport_kind == "db":
        assert list(
            QueueMessage.objects.filter(queue=names["queue"]).values_list("trials", flat=True)
        ) == [0, 0, 0]


def test_memory_stays_flat_over_a_long_run(transport_kind, make_transport, unique):
    """Traced Python memory after 600 messages and after 2,400 more of the same run
    must be about the same: anything kept per message (ids, deliveries, frames,
    cached queries) would grow it by hundreds of kilobytes."""
    import gc
    import tracemalloc

    warm, total = 600, 3000
    samples: dict[int, int] = {}

    def handler(env):
        if env.body["n"] in (warm, total - 1):
            gc.collect()
            samples[env.body["n"]] = tracemalloc.get_traced_memory()[0]

    names = simple_topology(unique, transport_kind, handler=handler)
    make_transport().setup(registry.topology(transport_kind))
    publish_many([("t", {"n": n}, None) for n in range(total)])

    tracemalloc.start()
    try:
        runtime = _consume(names["consumer"], max_messages=total, max_idle_time=5)
    finally:
        tracemalloc.stop()

    assert runtime.result.processed == total
    growth = samples[total - 1] - samples[warm]
    assert growth < 150_000, f"memory grew by {growth:,} bytes over {total - warm:,} messages"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publish_on_commit_sends_only_after_a_real_commit_and_never_after_a_rollback(
    transport_kind, make_transport, unique
):
    from django.db import transaction

    from queues import publish_on_commit

    names = simple_topology(unique, transport_kind)
    transport = make_transport()
    transport.setup(registry.topology(transport_kind))

    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit("t", {"n": "rolled back"})
        raise RuntimeError("the caller's work failed")
    with transaction.atomic():
        message_id = publish_on_commit("t", {"n": "committed"})
        assert make_transport().count(names["queue"]) == 0, "nothing is sent before the commit"

    (delivery,) = drain(transport, names["queue"], 1)
    assert (delivery.envelope.message_id, delivery.envelope.body) == (
        message_id,
        {"n": "committed"},
    )
    assert transport.receive(names["queue"], 10, 0.2) == []
