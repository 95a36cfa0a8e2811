"""Faults on the amqp transport: RabbitMQ restarting under load, a consumer killed mid-batch.

The restart test stops the broker every test shares, so it is marked
`exclusive_broker` (tests/fixtures/broker_lock.py): it waits for running tests to
finish and the others wait for it. It always starts the broker again, even when it
fails.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from queues import publish_many, registry
from queues.consumer import ConsumerRuntime
from queues.declarations import Binding, Consumer, Exchange, Publisher, Queue
from queues.exceptions import QueueError
from queues.models import QueueMessage
from queues.transports.amqp import AmqpTransport
from tests.fixtures.queues import TOPOLOGY_MODULE, envelope, subprocess_env, wait_for
from tests.fixtures.services import missing_service


def rabbitmqctl(*args: str, timeout: float = 60) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=timeout)


@pytest.fixture
def broker_restart(
    rabbitmq_url: str, broker_to_ourselves: None
) -> Iterator[Callable[[float], None]]:
    """Return `restart(down_for)`: stop RabbitMQ, wait, start it. Always started again.

    The test must be marked `exclusive_broker` (see tests/fixtures/broker_lock.py).
    """
    if shutil.which("rabbitmqctl") is None:
        missing_service("rabbitmqctl is not on PATH: cannot restart RabbitMQ")
    stopped = False

    def restart(down_for: float) -> None:
        nonlocal stopped
        stopped = True
        rabbitmqctl("stop_app")
        time.sleep(down_for)
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup", "--timeout", "60")
        stopped = False

    try:
        yield restart
    finally:
        if stopped:
            rabbitmqctl("start_app", timeout=120)
            rabbitmqctl("await_startup", "--timeout", "120", timeout=130)


@pytest.fixture
def amqp_topology(
    rabbitmq_url: str, unique: Callable[[str], str], queue_registry: Any
) -> Iterator[dict[str, str]]:
    """Declare exchange -> queue -> consumer in the test registry and on RabbitMQ."""
    names = {"exchange": unique("ex"), "queue": unique("q"), "consumer": unique("c")}
    registry.declare(
        Exchange(names["exchange"], connection="amqp"),
        Queue(names["queue"], connection="amqp"),
        Binding(unique("b"), names["exchange"], "#", names["queue"]),
    )
    topology = registry.topology("amqp")
    admin = AmqpTransport(rabbitmq_url)
    admin.setup(topology)
    yield names
    admin.teardown(topology)
    admin.close()


class Publishing(threading.Thread):
    """Publish batches until stopped; remember the ids of every confirmed batch."""

    def __init__(self, url: str, exchange: str, batch: int = 25, pause: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.transport = AmqpTransport(url)
        self.exchange, self.batch, self.pause = exchange, batch, pause
        self.confirmed: list[str] = []
        self.errors: list[Exception] = []
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                envelopes = [envelope("catalog.product.save", {"n": n}) for n in range(self.batch)]
                try:
                    self.transport.publish(self.exchange, envelopes)
                except QueueError as exc:
                    self.errors.append(exc)
                    return
                self.confirmed.extend(e.message_id for e in envelopes)
                time.sleep(self.pause)
        finally:
            self.transport.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


@pytest.mark.exclusive_broker
@pytest.mark.timeout(600)  # it may first wait for the other workers' running tests
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publishers_and_consumers_ride_out_a_broker_restart_and_lose_nothing(
    rabbitmq_url, amqp_topology, broker_restart, caplog
):
    handled: list[str] = []
    consumer = Consumer(
        amqp_topology["consumer"],
        amqp_topology["queue"],
        connection="amqp",
        handler=lambda env: handled.append(env.message_id),
    )
    registry.declare(consumer)
    runtime = ConsumerRuntime(consumer, register=False, sleep=0.2)

    def consume() -> None:
        try:
            runtime.run()
        finally:
            connection.close()

    caplog.set_level(logging.WARNING, logger="queues.transports.amqp")
    consuming = threading.Thread(target=consume, daemon=True)
    publishing = Publishing(rabbitmq_url, amqp_topology["exchange"])
    consuming.start()
    publishing.start()
    try:
        wait_until(lambda: len(handled) >= 100, 15, "the consumer handles messages")

        broker_restart(1.0)
        published_at_restart = len(publishing.confirmed)
        wait_until(
            lambda: len(publishing.confirmed) >= published_at_restart + 200 or publishing.errors,
            30,
            "the publisher publishes again after the restart",
        )
        publishing.halt.set()
        publishing.join(30)
        wait_until(
            lambda: set(handled) >= set(publishing.confirmed),
            30,
            "the consumer handles every confirmed message",
        )
    finally:
        publishing.halt.set()
        runtime.stop()
        consuming.join(30)

    # Both sides really lost their connection and waited for the broker to come back.
    assert "RabbitMQ publisher connection to" in caplog.text
    assert "RabbitMQ consumer connection to" in caplog.text
    assert publishing.errors == []
    assert set(handled) == set(publishing.confirmed)
    assert len(handled) == len(set(handled)), "a message was processed twice"
    assert runtime.result.processed == len(handled)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_consumer_killed_mid_batch_on_amqp_loses_nothing_and_processes_nothing_twice(
    rabbitmq_url, unique, queue_registry, manage_py
):
    names = {
        "exchange": unique("ex"),
        "queue": unique("q"),
        "consumer": unique("c"),
        "sink": unique("sink"),
    }
    declarations = [
        Exchange(names["exchange"], connection="amqp"),
        Queue(names["queue"], connection="amqp"),
        Binding(unique("b"), names["exchange"], "work.#", names["queue"]),
        Publisher("work.#", connection="amqp", exchange=names["exchange"]),
        Consumer(
            names["consumer"],
            names["queue"],
            connection="amqp",
            handler=f"{TOPOLOGY_MODULE}.record",
        ),
    ]
    registry.declare(*declarations)
    transport = AmqpTransport(rabbitmq_url)
    topology = registry.topology("amqp")
    transport.setup(topology)
    env = subprocess_env(declarations, AMQP_URL=rabbitmq_url)

    def traces() -> list[str]:
        return list(
            QueueMessage.objects.filter(queue=names["sink"]).values_list("message_id", flat=True)
        )

    try:
        ids = publish_many(
            [("work.item", {"n": n, "sleep": 0.02}, {"sink": names["sink"]}) for n in range(60)]
        )
        victim = manage_py.start(
            "queue_consumers_start", names["consumer"], "--batch-size", "20", env=env
        )
        # Past the first batch of 20, so that some groups were committed and acknowledged
        # (a group's traces show at its commit, its ack follows a moment later).
        wait_for(lambda: len(traces()) >= 25)

        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        # It died holding deliveries: RabbitMQ puts them back in the queue.
        assert 0 < transport.count(names["queue"]) < 60

        survivor = manage_py.run(
            "queue_consumers_start", names["consumer"], "--max-idle-time", "1.5", env=env
        )

        assert survivor.returncode == 0, survivor.stdout
        assert Counter(traces()) == Counter(ids), "every message processed exactly once"
        assert transport.count(names["queue"]) == 0
    finally:
        transport.teardown(topology)
        transport.close()


def test_an_impatient_publish_gives_up_at_once_when_the_broker_is_unreachable(
    queue_registry, settings, unique
):
    """A web request's publish (`patient=False`, the outbox relay being its fallback)
    makes one connection attempt: a broker outage never holds the request up."""
    from queues.exceptions import PublishError
    from tests.fixtures.browser import _free_port

    settings.QUEUES = {
        **getattr(settings, "QUEUES", {}),
        "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{_free_port()}/",
    }
    exchange = unique("ex")
    registry.declare(
        Exchange(exchange, connection="amqp"),
        Publisher(topic="work.#", connection="amqp", exchange=exchange),
    )
    began = time.monotonic()
    with pytest.raises(PublishError, match="after 1 attempt"):
        publish_many([("work.one", {"n": 1}, None)], patient=False)
    assert time.monotonic() - began < 1.0
