"""The supervising runner and the embedded consumers."""

from __future__ import annotations

import signal
import time

import pytest

from queues import Binding, Consumer, Exchange, Periodic, Publisher, Queue, publish, registry
from queues.embedded import start_embedded_consumers
from queues.models import ConsumerProcess
from queues.runner import Runner
from tests.fixtures.queues import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def runner_for(topo, **options) -> Runner:
    settings = {
        "consumers": [topo.consumer],
        "max_messages": 2,
        "multiple_processes": {},
        "only_spawn_when_message_available": True,
        "max_idle_time": None,
        **options,
    }
    return Runner(options=settings, env=topo.env())


def test_runner_respawns_a_consumer_after_max_messages_until_the_queue_is_empty(
    subprocess_topology,
):
    topo = subprocess_topology
    ids = topo.publish(5)
    runner = runner_for(topo)
    try:
        deadline = time.monotonic() + 60
        while sorted(topo.traces()) != sorted(ids) and time.monotonic() < deadline:
            runner.tick()
            time.sleep(0.05)
        slot = runner.slots[topo.consumer][0]

        assert sorted(topo.traces()) == sorted(ids)
        assert slot.spawned == 3, "two runs of --max-messages 2, then one for the last message"
        assert slot.crashes == 0
    finally:
        runner.stop_children()


def test_runner_does_not_spawn_while_no_message_waits(subprocess_topology):
    runner = runner_for(subprocess_topology)

    assert runner.tick() == 0
    subprocess_topology.publish(1)
    try:
        assert runner.tick() == 1
    finally:
        runner.stop_children()


def test_runner_starts_several_processes_of_one_consumer(subprocess_topology):
    topo = subprocess_topology
    topo.publish(1)
    runner = runner_for(
        topo, multiple_processes={topo.consumer: 3}, only_spawn_when_message_available=False
    )
    try:
        assert runner.tick() == 3
        wait_for(
            lambda: ConsumerProcess.objects.filter(name=topo.consumer, stopped_at=None).count() == 3
        )
    finally:
        runner.stop_children()
    assert set(
        ConsumerProcess.objects.filter(name=topo.consumer).values_list("exit_reason", flat=True)
    ) == {"SIGTERM"}


def test_runner_backs_off_longer_after_each_crash(subprocess_topology, unique):
    ghost = unique("ghost")  # declared here, unknown to the subprocess: it exits with an error
    registry.declare(Consumer(ghost, queue=subprocess_topology.queue))
    runner = Runner(
        options={
            "consumers": [ghost],
            "only_spawn_when_message_available": False,
            "multiple_processes": {},
        },
        env=subprocess_topology.env(),
    )
    slot = runner.slots[ghost][0]
    pauses = []
    deadline = time.monotonic() + 30
    while len(pauses) < 2 and time.monotonic() < deadline:
        before = slot.crashes
        runner.tick()
        if slot.crashes > before:
            pauses.append(round(slot.not_before - time.monotonic()))
            assert slot.proc is None, "not respawned at once"
        time.sleep(0.05)
    runner.stop_children()

    assert pauses == [1, 2]


def test_runner_once_starts_what_is_missing_and_returns(subprocess_topology):
    topo = subprocess_topology
    ids = topo.publish(3)
    runner = runner_for(topo, max_idle_time=1.5, max_messages=0)

    assert runner.run_once() == {topo.consumer: 1}
    wait_for(lambda: ConsumerProcess.objects.filter(name=topo.consumer).exists())
    topo.publish(1)
    assert runner_for(topo, max_idle_time=1.5, max_messages=0).run_once() == {}, (
        "one is already running"
    )
    wait_for(lambda: len(topo.traces()) == 4)
    wait_for(
        lambda: ConsumerProcess.objects.filter(
            name=topo.consumer, exit_reason="max_idle_time"
        ).exists()
    )
    assert set(ids) <= set(topo.traces())


def test_runner_command_stops_its_consumers_gracefully_on_sigterm(
    subprocess_topology, manage_py, settings
):
    topo = subprocess_topology
    topo.publish(1)
    env = topo.env(
        QUEUE_RUNNER_CONSUMERS=topo.consumer, QUEUE_RUNNER_ONLY_SPAWN_WHEN_MESSAGE_AVAILABLE="0"
    )
    runner = manage_py.start("queue_consumers_runner", env=env)
    wait_for(lambda: topo.traces())

    runner.send_signal(signal.SIGTERM)

    assert runner.wait(timeout=30) == 0
    assert ConsumerProcess.objects.get(name=topo.consumer).exit_reason == "SIGTERM"


def test_embedded_consumers_run_db_queues_and_periodic_tasks_in_threads(
    queue_registry, unique, settings
):
    settings.QUEUES = {**settings.QUEUES, "CONNECTION": "db", "EMBEDDED_CONSUMERS": True}
    handled, ticks = [], []
    registry.declare(
        Exchange(unique("ex")),
        Queue(unique("q")),
        Queue(unique("amqp-q"), connection="amqp"),
        Binding(id=unique("b"), exchange=unique("ex"), topic="#", queue=unique("q")),
        Publisher(topic="#", connection="default", exchange=unique("ex")),
        Consumer(unique("c"), queue=unique("q"), handler=lambda env: handled.append(env.body["n"])),
        Consumer(unique("amqp-c"), queue=unique("amqp-q"), handler=lambda env: None),
        Periodic(unique("tick"), func=lambda: ticks.append(1), interval=3600),
    )
    embedded = start_embedded_consumers()
    try:
        assert embedded.consumers == [unique("c")], "only consumers of db queues run embedded"
        for n in range(3):
            publish("x", {"n": n})
        wait_for(lambda: handled == [0, 1, 2])
        wait_for(lambda: ticks == [1])
    finally:
        embedded.stop()
    assert not any(thread.is_alive() for thread in embedded.threads)


def test_embedded_consumers_can_be_switched_off(queue_registry, unique, settings):
    settings.QUEUES = {**settings.QUEUES, "EMBEDDED_CONSUMERS": False}
    registry.declare(Queue(unique("q"), connection="db"), Consumer(unique("c"), queue=unique("q")))

    embedded = start_embedded_consumers()

    assert embedded.threads == []
    embedded.stop()


def test_with_rabbitmq_down_the_runner_spawns_nothing_and_answers_at_once(
    queue_registry, unique, settings
):
    """One connection attempt per tick: the reconnection backoff (about 28 s by
    default) would hold up every other consumer's respawn and the runner's SIGTERM."""
    settings.QUEUES = {**settings.QUEUES, "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    queue, name = unique("q"), unique("c")
    registry.declare(
        Queue(queue, connection="amqp"),
        Consumer(
            name=name,
            queue=queue,
            connection="amqp",
            handler="tests.fixtures.queues_topology.record",
        ),
    )
    runner = Runner(options={"consumers": [name], "only_spawn_when_message_available": True})
    started = time.monotonic()

    assert runner.tick() == 0

    assert time.monotonic() - started < 2
